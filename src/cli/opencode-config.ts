import { dirname, join, resolve } from "node:path";
import type { ProviderId } from "../config/schema.js";
import type { CliEnv } from "./cli-env.js";
import { parseJsonc } from "./jsonc.js";
import { isRecord } from "./plugin-spec.js";

/** One opencode config file that exists: its JSON, or why it could not be read. */
export interface OpencodeConfig {
  path: string;
  scope: "project" | "global" | "custom";
  json: Record<string, unknown> | undefined;
  error: string | undefined;
}

const NAMES = ["opencode.jsonc", "opencode.json"];

/**
 * Where OpenCode looks for config: `$OPENCODE_CONFIG`, the project (`opencode.json[c]` and
 * `.opencode/opencode.json[c]` from the working directory up to the git root), and the global
 * `$XDG_CONFIG_HOME/opencode/` (fallback `~/.config/opencode/`). Project files come first.
 */
export async function configCandidates(cli: CliEnv): Promise<Array<{ path: string; scope: OpencodeConfig["scope"] }>> {
  const out: Array<{ path: string; scope: OpencodeConfig["scope"] }> = [];
  if (cli.env.OPENCODE_CONFIG) out.push({ path: resolve(cli.cwd, cli.env.OPENCODE_CONFIG), scope: "custom" });
  let dir = resolve(cli.cwd);
  const globalDir = globalConfigDir(cli);
  for (;;) {
    if (dir !== globalDir) {
      for (const name of NAMES) out.push({ path: join(dir, name), scope: "project" });
      for (const name of NAMES) out.push({ path: join(dir, ".opencode", name), scope: "project" });
    }
    const parent = dirname(dir);
    if (parent === dir || dir === cli.homedir || (await cli.exists(join(dir, ".git")))) break;
    dir = parent;
  }
  for (const name of [...NAMES, "config.json"]) out.push({ path: join(globalDir, name), scope: "global" });
  return out;
}

export function globalConfigDir(cli: Pick<CliEnv, "env" | "homedir">): string {
  return join(cli.env.XDG_CONFIG_HOME || join(cli.homedir, ".config"), "opencode");
}

/** The config files that exist, parsed as JSONC. */
export async function readOpencodeConfigs(cli: CliEnv): Promise<OpencodeConfig[]> {
  const found: OpencodeConfig[] = [];
  for (const { path, scope } of await configCandidates(cli)) {
    let text: string | undefined;
    try {
      text = await cli.readFile(path);
    } catch (error) {
      found.push({
        path,
        scope,
        json: undefined,
        error: `cannot be read (${(error as { code?: string }).code ?? "error"})`,
      });
      continue;
    }
    if (text === undefined) continue;
    try {
      const json = parseJsonc(text);
      found.push({
        path,
        scope,
        json: isRecord(json) ? json : undefined,
        error: isRecord(json) ? undefined : "is not a JSON object",
      });
    } catch (error) {
      found.push({ path, scope, json: undefined, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return found;
}

/** `provider[id]` of the first config (project before global) that has one. */
export function providerEntry(
  configs: readonly OpencodeConfig[],
  provider: ProviderId,
): { path: string; entry: Record<string, unknown> } | undefined {
  for (const config of configs) {
    const providers = config.json?.provider;
    const entry = isRecord(providers) ? providers[provider] : undefined;
    if (isRecord(entry)) return { path: config.path, entry };
  }
  return undefined;
}

/** The `baseURL` override OpenCode will use for the provider: project settings win over global ones. */
export function baseUrlOverride(
  configs: readonly OpencodeConfig[],
  provider: ProviderId,
): { value: string; path: string } | undefined {
  for (const config of configs) {
    const providers = config.json?.provider;
    const entry = isRecord(providers) ? providers[provider] : undefined;
    const options = isRecord(entry) ? entry.options : undefined;
    if (isRecord(options) && typeof options.baseURL === "string") return { value: options.baseURL, path: config.path };
  }
  return undefined;
}

export function authJsonPath(cli: Pick<CliEnv, "env" | "homedir">): string {
  return join(cli.env.XDG_DATA_HOME || join(cli.homedir, ".local", "share"), "opencode", "auth.json");
}
