import { dirname } from "node:path";
import { isCodingEndpoint } from "../classify/classify.js";
import { PLACEHOLDER_KEY } from "../config/keys.js";
import type { ProviderId } from "../config/schema.js";
import type { ReadResult } from "../state/store.js";
import { STATE_FILE_OFF } from "../state/paths.js";
import { PACKAGE_NAME } from "./plugin-spec.js";
import type { Check } from "./report.js";
import type { Setup } from "./setup.js";

export const DEFAULT_BASE_URL: Record<ProviderId, string> = {
  "zai-coding-plan": "https://api.z.ai/api/coding/paas/v4",
  "zhipuai-coding-plan": "https://open.bigmodel.cn/api/coding/paas/v4",
};
const PROVIDER_HOST: Record<ProviderId, string> = { "zai-coding-plan": "z.ai", "zhipuai-coding-plan": "bigmodel.cn" };
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Pure: the troubleshooting checklist, run over what `readSetup` found. */
export function doctorChecks(setup: Setup, state: ReadResult | undefined): Check[] {
  return [...configChecks(setup), pluginCheck(setup), stubCheck(setup), authCheck(setup), ...keysChecks(setup), endpointCheck(setup), stateCheck(setup, state)];
}

function configChecks(setup: Setup): Check[] {
  return setup.configs
    .filter((c) => c.error !== undefined)
    .map((c) => ({ id: "config", level: "fail", message: `${c.path} ${c.error}`, fix: "correct the file: OpenCode cannot load it (comments and trailing commas are fine)" }));
}

function pluginCheck({ plugin, nearMiss, configs, globalConfig }: Setup): Check {
  if (plugin?.missingFile) {
    return {
      id: "plugin",
      level: "fail",
      message: `${plugin.configPath} lists ${plugin.spec.localPath}, which does not exist`,
      fix: `build the plugin: run \`npm install && npm run build\` in ${dirname(dirname(plugin.spec.localPath ?? "."))}`,
    };
  }
  if (plugin) {
    const how = plugin.spec.npmName ? " (OpenCode installs npm plugins itself when it starts)" : "";
    return { id: "plugin", level: "ok", message: `plugin listed in ${plugin.configPath} as "${plugin.spec.spec}"${how}` };
  }
  if (nearMiss) {
    return {
      id: "plugin",
      level: "fail",
      message: `${nearMiss.configPath} lists "${nearMiss.spec}", but OpenCode needs the built entry .../dist/index.js`,
      fix: `point it at the package's dist/index.js (after \`npm run build\`), or use the npm name "${PACKAGE_NAME}"`,
    };
  }
  const looked = configs.length > 0 ? configs.map((c) => c.path).join(", ") : "no opencode.json found";
  return {
    id: "plugin",
    level: "fail",
    message: `${PACKAGE_NAME} is not in the "plugin" list of any OpenCode config (${looked})`,
    fix: `add "plugin": ["${PACKAGE_NAME}"] to ${configs[0]?.path ?? globalConfig}`,
  };
}

function stubCheck({ stub, provider, plugin, globalConfig }: Setup): Check {
  if (stub) return { id: "provider", level: "ok", message: `provider "${provider}" configured in ${stub.path}` };
  return {
    id: "provider",
    level: "warn",
    message: `no "provider": { "${provider}": ... } entry in any OpenCode config; its models may not be listed`,
    fix: `add "provider": { "${provider}": {} } to ${plugin?.configPath ?? globalConfig}`,
  };
}

function authCheck({ auth, provider }: Setup): Check {
  const login = `run \`opencode providers login --provider ${provider}\` and enter ${PLACEHOLDER_KEY} (or a real key)`;
  switch (auth.status) {
    case "ok": {
      const what = auth.key === PLACEHOLDER_KEY ? "the placeholder; the plugin supplies the keys" : "a real key";
      return { id: "auth", level: "ok", message: `${provider} credential stored in ${auth.where} (${what})` };
    }
    case "no-file":
    case "no-entry":
      return {
        id: "auth",
        level: "fail",
        message: `no ${provider} entry in ${auth.where}: OpenCode runs the plugin only for a provider with a stored credential`,
        fix: login,
      };
    case "invalid":
      return { id: "auth", level: "fail", message: `${auth.where} ${auth.problem ?? "is invalid"}`, fix: `repair it, or move it away and ${login}` };
    case "not-api":
      return { id: "auth", level: "fail", message: `${auth.where}: the ${provider} ${auth.problem ?? "entry is not an API key"}`, fix: login };
    default:
      return auth.status satisfies never;
  }
}

function keysChecks({ keys, provider }: Setup): Check[] {
  const out: Check[] = [];
  const chosen = keys.chosenBy ? ` (set by ${keys.chosenBy})` : "";
  if (keys.fileError) {
    out.push({ id: "keys-file", level: "fail", message: keys.fileError, fix: `correct ${keys.path} (its JSON Schema: schema/zai-keys.schema.json in the package)` });
  } else if (keys.exists) {
    const mode = keys.mode;
    if (mode !== undefined && (mode & 0o077) !== 0 && (keys.fileKeys ?? 0) > 0) {
      out.push({ id: "keys-file", level: "fail", message: `${keys.path} is readable by group or others (mode ${mode.toString(8)})`, fix: `chmod 600 ${keys.path}` });
    } else {
      const modeText = mode === undefined ? "" : `, mode ${mode.toString(8)}`;
      out.push({ id: "keys-file", level: "ok", message: `${keys.path}${chosen}: ${keys.fileKeys ?? 0} enabled key(s) for ${provider}, no duplicates${modeText}` });
    }
  } else if (keys.chosenBy) {
    out.push({ id: "keys-file", level: "fail", message: `${keys.path}${chosen} does not exist`, fix: `create it, or remove the ${keys.chosenBy} setting` });
  } else {
    out.push({ id: "keys-file", level: "info", message: `no keys file at ${keys.path} (optional)` });
  }

  const loaded = keys.loaded;
  if (!loaded) {
    if (keys.loadError && keys.loadError !== keys.fileError) out.push({ id: "keys", level: "fail", message: keys.loadError, fix: "correct the setting named above" });
    return out;
  }
  const accounts = new Set(loaded.keys.map((k) => k.account)).size;
  const where = `${loaded.keys.length} key(s) in ${accounts} account(s)`;
  switch (loaded.keySource) {
    case "env":
      out.push({ id: "keys", level: "ok", message: `keys: ${where} from $${keys.envVariable}` });
      if ((keys.fileKeys ?? 0) > 0) out.push({ id: "keys", level: "info", message: `$${keys.envVariable} is set, so the ${keys.fileKeys} key(s) in ${keys.path} are not used` });
      break;
    case "file":
      out.push({ id: "keys", level: "ok", message: `keys: ${where} from ${keys.path}` });
      break;
    case "auth":
      out.push({ id: "keys", level: "ok", message: `keys: the one key stored in OpenCode auth (no failover; list more keys in ${keys.path})` });
      break;
    case "none":
      out.push({
        id: "keys",
        level: "fail",
        message: `no API keys for ${provider}`,
        fix: `list keys in ${keys.path}, or set ${keys.envVariable}, or store a real key with \`opencode providers login --provider ${provider}\``,
      });
      break;
    default:
      return loaded.keySource satisfies never;
  }
  return out;
}

function endpointCheck({ baseURL, provider }: Setup): Check {
  if (!baseURL) return { id: "endpoint", level: "ok", message: `endpoint: OpenCode's default for ${provider} (${DEFAULT_BASE_URL[provider]})` };
  const fix = `set baseURL to ${DEFAULT_BASE_URL[provider]} (or .../api/anthropic), or remove the override from ${baseURL.path}`;
  let url: URL;
  try {
    url = new URL(baseURL.value);
  } catch {
    return { id: "endpoint", level: "fail", message: `baseURL "${baseURL.value}" in ${baseURL.path} is not a URL`, fix };
  }
  if (LOCAL_HOSTS.has(url.hostname)) {
    return { id: "endpoint", level: "info", message: `baseURL ${baseURL.value} (in ${baseURL.path}) is a local server: fine for tests, not for real use` };
  }
  if (!isCodingEndpoint(url.pathname)) {
    return {
      id: "endpoint",
      level: "fail",
      message: `baseURL ${baseURL.value} (in ${baseURL.path}) is not a Coding Plan endpoint: Coding Plan keys get 1113 "Insufficient balance" there`,
      fix,
    };
  }
  if (!url.hostname.endsWith(PROVIDER_HOST[provider])) {
    return { id: "endpoint", level: "warn", message: `baseURL ${baseURL.value} is not on ${PROVIDER_HOST[provider]}: ${provider} keys may not work there`, fix };
  }
  return { id: "endpoint", level: "ok", message: `endpoint: ${baseURL.value} (from ${baseURL.path})` };
}

function stateCheck({ statePath }: Setup, state: ReadResult | undefined): Check {
  if (statePath === undefined || state === undefined) {
    return { id: "state", level: "info", message: `state file: off (ZAI_STATE_FILE=${STATE_FILE_OFF}); cooldowns are not shared between OpenCode processes` };
  }
  switch (state.kind) {
    case "ok":
      return { id: "state", level: "info", message: `state file: ${statePath}` };
    case "missing":
      return { id: "state", level: "info", message: `state file: ${statePath} (created on first use)` };
    case "corrupt":
      return { id: "state", level: "warn", message: `state file ${statePath} is corrupt (${state.problem}); the plugin starts fresh and replaces it`, fix: `nothing needed; or delete ${statePath}` };
    case "unreadable":
      return { id: "state", level: "warn", message: `${state.problem}: cooldowns are kept in memory only`, fix: `check the permissions of ${statePath}` };
    default:
      return state satisfies never;
  }
}
