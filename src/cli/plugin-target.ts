import { join } from "node:path";
import type { CliEnv } from "./cli-env.js";
import { isRecord, type PluginSpec } from "./plugin-spec.js";

/**
 * Where OpenCode 1.x would load the listed plugin from, and whether that module is a plugin. Checked against
 * opencode 1.18.33 (test/e2e/install.e2e.test.ts): a file path or file:// URL of dist/index.js and of the package
 * directory load; a tarball path does not (OpenCode imports it as a module, fails, and falls back to the stored key);
 * an npm name loads from `$XDG_CACHE_HOME/opencode/packages/<name>@latest/node_modules/<name>` once installed.
 */
export type PluginTarget =
  | { kind: "loads"; entry: string; from: string; exports: string[] }
  | { kind: "not-installed"; cacheDir: string }
  | { kind: "missing"; path: string }
  | { kind: "tarball"; path: string }
  | { kind: "not-a-plugin"; entry: string; problem: string };

export async function resolvePluginTarget(cli: CliEnv, spec: PluginSpec): Promise<PluginTarget> {
  if (spec.localPath !== undefined) {
    const path = spec.localPath;
    if (/\.(tgz|tar\.gz|tar)$/i.test(path)) return { kind: "tarball", path };
    if (!(await cli.exists(path))) return { kind: "missing", path };
    const entry = (await packageEntry(cli, path)) ?? path;
    return inspect(cli, entry, path);
  }
  const name = spec.npmName ?? spec.spec;
  const cacheDir = join(opencodeCacheDir(cli), "packages", npmCacheKey(spec.spec, name));
  const packageDir = join(cacheDir, "node_modules", name);
  const entry = await packageEntry(cli, packageDir);
  if (entry === undefined) return { kind: "not-installed", cacheDir };
  return inspect(cli, entry, packageDir);
}

/** OpenCode's cache: `$XDG_CACHE_HOME/opencode`, else `~/.cache/opencode`. */
export function opencodeCacheDir(cli: Pick<CliEnv, "env" | "homedir">): string {
  return join(cli.env.XDG_CACHE_HOME || join(cli.homedir, ".cache"), "opencode");
}

/** A bare name is cached as `<name>@latest`; a spec with a version or tag as written (as OpenCode 1.x does). */
export function npmCacheKey(spec: string, name: string): string {
  const bare = spec.startsWith("npm:") ? spec.slice(4) : spec;
  return bare === name ? `${name}@latest` : bare;
}

/** The ESM entry of a package directory (exports "." import/default, module, main, index.js), or undefined. */
async function packageEntry(cli: CliEnv, dir: string): Promise<string | undefined> {
  let text: string | undefined;
  try {
    text = await cli.readFile(join(dir, "package.json"));
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(pkg)) return undefined;
  const root = isRecord(pkg.exports) ? pkg.exports["."] : pkg.exports;
  const fromExports = typeof root === "string" ? root : isRecord(root) ? (root.import ?? root.default) : undefined;
  const relative = [fromExports, pkg.module, pkg.main, "index.js"].find((v): v is string => typeof v === "string");
  return join(dir, relative ?? "index.js");
}

async function inspect(cli: CliEnv, entry: string, from: string): Promise<PluginTarget> {
  if (!(await cli.exists(entry)))
    return { kind: "not-a-plugin", entry, problem: `its entry ${entry} does not exist (not built?)` };
  let module: Record<string, unknown>;
  try {
    module = await cli.importModule(entry);
  } catch (error) {
    return {
      kind: "not-a-plugin",
      entry,
      problem: `it does not load: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const value = module.default;
  if (isRecord(value) && ("id" in value || "server" in value)) {
    // An object default is one plugin to 1.18.29+ (packages/opencode/src/plugin/shared.ts readV1Plugin): it runs
    // `server` and ignores named exports; OpenCode 2.x runs `setup` from the same object.
    if (typeof value.server !== "function")
      return { kind: "not-a-plugin", entry, problem: "its default export has no server() function" };
    return { kind: "loads", entry, from, exports: [`default { ${Object.keys(value).join(", ")} }`] };
  }
  const names = Object.keys(module);
  if (names.length === 0) return { kind: "not-a-plugin", entry, problem: "it exports nothing" };
  // OpenCode >= 1.18.29 takes an object default with id/server as one plugin and runs only `server`
  // (packages/opencode/src/plugin/shared.ts readV1Plugin); named exports are then ignored.
  const main = module.default;
  if (isRecord(main) && ("id" in main || "server" in main)) {
    if (typeof main.server !== "function")
      return {
        kind: "not-a-plugin",
        entry,
        problem: "its default export has no `server` function (an OpenCode 2.x-only plugin?)",
      };
    return { kind: "loads", entry, from, exports: ["default.server"] };
  }
  // The legacy shape: OpenCode calls every export as a plugin, so one constant makes the whole module fail to load.
  const notFunctions = names.filter(
    (n) =>
      typeof module[n] !== "function" &&
      !(isRecord(module[n]) && typeof (module[n] as Record<string, unknown>).server === "function"),
  );
  if (notFunctions.length > 0)
    return {
      kind: "not-a-plugin",
      entry,
      problem: `its export(s) ${notFunctions.join(", ")} are not plugin functions`,
    };
  return { kind: "loads", entry, from, exports: names };
}
