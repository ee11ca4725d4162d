/**
 * Which OpenCode generation is installed, and whether its config loads this package the way that generation
 * reads plugins: 1.x `plugin` (strings or `[spec, options]`), 2.x `plugins` (strings or `{ package, options }`,
 * packages/core/src/plugin/discovery.ts). Pure over what was read; `doctor`/`status` can list these checks.
 */
import type { ProviderId } from "../config/schema.js";
import { parseV2Options } from "../hosts/v2-options.js";
import type { OpencodeConfig } from "./opencode-config.js";
import { isRecord, PACKAGE_NAME } from "./plugin-spec.js";
import type { Check } from "./report.js";

export type Generation = 1 | 2;

/** `opencode --version` output ("1.18.33", "opencode 2.0.24") → its major line; undefined when unknown. */
export function generationOf(version: string | undefined): Generation | undefined {
  const match = /(\d+)\.\d+\.\d+/.exec(version ?? "");
  if (!match) return undefined;
  const major = Number(match[1]);
  return major >= 2 ? 2 : major === 1 ? 1 : undefined;
}

interface Found {
  configPath: string;
  spec: string;
  options: Record<string, unknown>;
}

/** Entries naming this package (npm name, or a path into it / its dist entries) under `key`. */
export function entriesFor(configs: readonly OpencodeConfig[], key: "plugin" | "plugins"): Found[] {
  const found: Found[] = [];
  for (const config of configs) {
    const list = config.json?.[key];
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const [spec, options] = key === "plugins" ? v2Entry(entry) : v1Entry(entry);
      if (spec !== undefined && namesPackage(spec))
        found.push({ configPath: config.path, spec, options: options ?? {} });
    }
  }
  return found;
}

function v1Entry(entry: unknown): [string | undefined, Record<string, unknown> | undefined] {
  const [spec, options] = Array.isArray(entry) ? [entry[0], entry[1]] : [entry, undefined];
  return [typeof spec === "string" ? spec : undefined, isRecord(options) ? options : undefined];
}

function v2Entry(entry: unknown): [string | undefined, Record<string, unknown> | undefined] {
  if (typeof entry === "string") return [entry.startsWith("-") ? undefined : entry, undefined];
  if (!isRecord(entry) || typeof entry.package !== "string") return [undefined, undefined];
  return [entry.package, isRecord(entry.options) ? entry.options : undefined];
}

function namesPackage(spec: string): boolean {
  const bare = spec.replace(/^npm:/, "");
  return (
    bare === PACKAGE_NAME ||
    bare.startsWith(`${PACKAGE_NAME}@`) ||
    spec.split(/[\\/]/).includes(PACKAGE_NAME) ||
    /dist[\\/](index|zhipu)\.js$/.test(spec)
  );
}

const isZhipuEntry = (spec: string) => /dist[\\/]zhipu\.js$/.test(spec);

/** The checks for `provider` under the installed generation (unknown generation: both keys are accepted). */
export function generationChecks(input: {
  version: string | undefined;
  configs: readonly OpencodeConfig[];
  provider: ProviderId;
  globalConfig: string;
}): Check[] {
  const { configs, provider, globalConfig } = input;
  const generation = generationOf(input.version);
  const v1 = entriesFor(configs, "plugin");
  const v2 = entriesFor(configs, "plugins");
  const checks: Check[] = [
    generation === undefined
      ? {
          id: "opencode",
          level: "warn",
          message: "could not tell which OpenCode is installed (`opencode --version` gave nothing usable)",
          fix: "install OpenCode, or put it on PATH",
        }
      : { id: "opencode", level: "ok", message: `OpenCode ${input.version?.trim()} (plugin API ${generation}.x)` },
  ];
  if (generation === 2 || (generation === undefined && v2.length > 0))
    checks.push(v2Check(v2, v1, provider, globalConfig));
  if (generation === 1 || (generation === undefined && v2.length === 0))
    checks.push(v1Check(v1, v2, provider, globalConfig));
  return checks;
}

function v2Check(v2: Found[], v1: Found[], provider: ProviderId, globalConfig: string): Check {
  const example = `"plugins": [{ "package": "${PACKAGE_NAME}", "options": { "providers": ["${provider}"] } }]`;
  const entry = v2[v2.length - 1]; // 2.x keeps the last entry of one target
  if (!entry) {
    const hint = v1.length > 0 ? ` (${v1[0]!.configPath} lists it under "plugin", which only OpenCode 1.x reads)` : "";
    return {
      id: "plugins",
      level: "fail",
      message: `${PACKAGE_NAME} is not in the "plugins" list of any OpenCode config${hint}`,
      fix: `add ${example} to ${globalConfig}`,
    };
  }
  const defaults: ProviderId[] = isZhipuEntry(entry.spec) ? ["zhipuai-coding-plan"] : ["zai-coding-plan"];
  let providers: ProviderId[];
  try {
    providers = parseV2Options(entry.options, defaults).providers;
  } catch (error) {
    return {
      id: "plugins",
      level: "fail",
      message: `${entry.configPath}: ${error instanceof Error ? error.message : String(error)}`,
      fix: `correct the entry's options, e.g. ${example}`,
    };
  }
  if (!providers.includes(provider)) {
    return {
      id: "plugins",
      level: "fail",
      message: `${entry.configPath} loads ${PACKAGE_NAME} for ${providers.join(", ")} only, not ${provider}`,
      fix: `add "${provider}" to the entry's "options.providers"`,
    };
  }
  return {
    id: "plugins",
    level: "ok",
    message: `"plugins" in ${entry.configPath} loads ${PACKAGE_NAME} for ${providers.join(", ")}`,
  };
}

function v1Check(v1: Found[], v2: Found[], provider: ProviderId, globalConfig: string): Check {
  const wanted = v1.filter((e) => (provider === "zhipuai-coding-plan" ? isZhipuEntry(e.spec) : !isZhipuEntry(e.spec)));
  if (wanted[0])
    return {
      id: "plugin",
      level: "ok",
      message: `"plugin" in ${wanted[0].configPath} loads the ${provider} entry ("${wanted[0].spec}")`,
    };
  const hint = v2.length > 0 ? ` (${v2[0]!.configPath} lists it under "plugins", which only OpenCode 2.x reads)` : "";
  const fix =
    provider === "zhipuai-coding-plan"
      ? `add the package's zhipu entry by path, e.g. "file://<dir>/node_modules/${PACKAGE_NAME}/dist/zhipu.js" ` +
        `(1.x reads "${PACKAGE_NAME}/zhipu" as a GitHub repository)`
      : `add "plugin": ["${PACKAGE_NAME}"] to ${globalConfig}`;
  return {
    id: "plugin",
    level: "fail",
    message: `no "plugin" entry loads ${PACKAGE_NAME} for ${provider}${hint}`,
    fix,
  };
}

/** `opencode --version`, through an injected runner (doctor passes execFile with a timeout); undefined when absent. */
export async function installedOpencodeVersion(
  run: (command: string, args: string[]) => Promise<string>,
): Promise<string | undefined> {
  try {
    return (await run("opencode", ["--version"])).trim() || undefined;
  } catch {
    return undefined;
  }
}
