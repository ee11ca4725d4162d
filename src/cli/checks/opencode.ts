import { dirname } from "node:path";
import { PLACEHOLDER_KEY } from "../../config/keys.js";
import { keysFromLogin, type AccountMapping, type LoginCredential } from "../../config/login-keys.js";
import type { ProviderId } from "../../config/schema.js";
import { PACKAGE_NAME } from "../plugin-spec.js";
import type { Check } from "../report.js";
import type { DoctorFacts } from "./types.js";

/** What OpenCode needs to run the plugin at all: readable configs, a plugin entry it can load, a credential. */

export function configCheck({ setup }: DoctorFacts): Check[] {
  return setup.configs
    .filter((c) => c.error !== undefined)
    .map((c) => ({
      id: "config",
      level: "fail",
      message: `${c.path} ${c.error}`,
      fix: "correct the file: OpenCode cannot load it (comments and trailing commas are fine)",
    }));
}

const CHECKOUT_FIX =
  "or install from a checkout: `npm ci && npm run build` there, then list the checkout directory (README, Install)";

export function pluginCheck({ setup, pluginTarget }: DoctorFacts): Check {
  const { plugin, nearMiss, configs, globalConfig } = setup;
  if (plugin) {
    const listed = `${plugin.configPath} lists "${plugin.spec.spec}"`;
    switch (pluginTarget?.kind) {
      case undefined:
        break;
      case "loads":
        return {
          id: "plugin",
          level: "ok",
          message: `${listed}: OpenCode loads ${pluginTarget.entry} (exports ${pluginTarget.exports.join(", ")})`,
        };
      case "not-installed":
        return {
          id: "plugin",
          level: "fail",
          message:
            `${listed}, but it is not in OpenCode's package cache (${pluginTarget.cacheDir}). OpenCode installs ` +
            "npm plugins when it starts; when that fails (offline, or no such version on npm) it runs without the " +
            "plugin and sends the placeholder key to Z.AI",
          fix: `start OpenCode once (e.g. \`opencode models\`), then run doctor again; ${CHECKOUT_FIX}`,
        };
      case "missing":
        return {
          id: "plugin",
          level: "fail",
          message: `${listed}, which does not exist`,
          fix:
            `build the plugin: run \`npm ci && npm run build\` in ${dirname(dirname(pluginTarget.path))}, or ` +
            "correct the path",
        };
      case "tarball":
        return {
          id: "plugin",
          level: "fail",
          message:
            `${listed}, a tarball: OpenCode 1.x does not load plugins from a tarball path (it runs without the ` +
            "plugin)",
          fix:
            `unpack it (\`tar xzf ${pluginTarget.path}\` gives package/, then \`npm install --omit=dev\` in it) ` +
            `and list that directory, ${CHECKOUT_FIX}`,
        };
      case "not-a-plugin":
        return {
          id: "plugin",
          level: "fail",
          message: `${listed}, but ${pluginTarget.problem}`,
          fix: `rebuild (\`npm run build\`) or reinstall it; ${CHECKOUT_FIX}`,
        };
      default:
        return pluginTarget satisfies never;
    }
    return { id: "plugin", level: "ok", message: `${listed}` };
  }
  if (nearMiss) {
    return {
      id: "plugin",
      level: "fail",
      message:
        `${nearMiss.configPath} lists "${nearMiss.spec}", but OpenCode needs the package directory or its built ` +
        "dist/index.js",
      fix: `point it at the checkout directory or its dist/index.js (after \`npm run build\`)`,
    };
  }
  const looked = configs.length > 0 ? configs.map((c) => c.path).join(", ") : "no opencode.json found";
  return {
    id: "plugin",
    level: "fail",
    message: `${PACKAGE_NAME} is not in the "plugin" list of any OpenCode config (${looked})`,
    fix: `add it to "plugin" in ${configs[0]?.path ?? globalConfig} (README, Install)`,
  };
}

export function stubCheck({ setup }: DoctorFacts): Check {
  const { stub, provider, plugin, globalConfig } = setup;
  if (stub) return { id: "provider", level: "ok", message: `provider "${provider}" configured in ${stub.path}` };
  return {
    id: "provider",
    level: "warn",
    message: `no "provider": { "${provider}": ... } entry in any OpenCode config; its models may not be listed`,
    fix: `add "provider": { "${provider}": {} } to ${plugin?.configPath ?? globalConfig}`,
  };
}

/** "2 key(s) from the login (each its own account)", "the placeholder; the plugin supplies the keys". Never a key. */
function storedText(credential: LoginCredential | undefined, provider: ProviderId): string {
  if (!credential || credential.key.trim() === PLACEHOLDER_KEY) return "the placeholder; the plugin supplies the keys";
  const { keys, mapping } = keysFromLogin(credential, provider);
  if (mapping === "elsewhere") return "login answered: keys are in the keys file or the environment";
  const accounts = new Set(keys.map((k) => k.account)).size;
  return `${keys.length} key(s) in ${accounts} account(s) from the login (${MAPPING_TEXT[mapping]})`;
}

const MAPPING_TEXT: Record<AccountMapping, string> = {
  each: "each key its own account",
  one: "all keys one account",
  named: "accounts named as account=key",
  elsewhere: "keys elsewhere",
};

export function authCheck({ setup }: DoctorFacts): Check {
  const { auth, provider } = setup;
  const login =
    `run \`opencode providers login --provider ${provider}\`, ` + "choose how the keys map to accounts, paste them";
  switch (auth.status) {
    case "ok": {
      const what = storedText(auth.credential, provider);
      return { id: "auth", level: "ok", message: `${provider} credential stored in ${auth.where} (${what})` };
    }
    case "no-file":
    case "no-entry":
      return {
        id: "auth",
        level: "fail",
        message:
          `no ${provider} entry in ${auth.where}: OpenCode runs the plugin only for a provider with a stored ` +
          "credential",
        fix: login,
      };
    case "invalid":
      return {
        id: "auth",
        level: "fail",
        message: `${auth.where} ${auth.problem ?? "is invalid"}`,
        fix: `repair it, or move it away and ${login}`,
      };
    case "not-api":
      return {
        id: "auth",
        level: "fail",
        message: `${auth.where}: the ${provider} ${auth.problem ?? "entry is not an API key"}`,
        fix: login,
      };
    default:
      return auth.status satisfies never;
  }
}
