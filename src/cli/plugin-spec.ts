import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "oc-zai-multi-account";

/** One entry of opencode.json `plugin`, understood. */
export interface PluginSpec {
  /** As written (the name or path part of a tuple). */
  spec: string;
  /** Options from a `[spec, options]` tuple. */
  options: Record<string, unknown> | undefined;
  /** Package name of an npm spec, version stripped. */
  npmName: string | undefined;
  /** Absolute path of a file spec (path or file:// URL). */
  localPath: string | undefined;
}

/**
 * Pure: reads a `plugin` entry (string or `[string, options]`); relative paths resolve against the config's directory.
 */
export function parsePluginSpec(entry: unknown, configDir: string, homedir: string): PluginSpec | undefined {
  const [spec, rawOptions] = Array.isArray(entry) ? [entry[0], entry[1]] : [entry, undefined];
  if (typeof spec !== "string" || spec.trim() === "") return undefined;
  const options = isRecord(rawOptions) ? rawOptions : undefined;
  const text = spec.trim();
  let localPath: string | undefined;
  if (text.startsWith("file://")) {
    try {
      localPath = fileURLToPath(text);
    } catch {
      localPath = undefined;
    }
  } else if (text.startsWith("~/")) localPath = resolve(homedir, text.slice(2));
  else if (isAbsolute(text) || text.startsWith("./") || text.startsWith("../")) localPath = resolve(configDir, text);
  return {
    spec: text,
    options,
    npmName: localPath === undefined && !text.startsWith("file:") ? npmNameOf(text) : undefined,
    localPath,
  };
}

/** "oc-zai-multi-account@1.2.0" → "oc-zai-multi-account"; "@scope/pkg@x" → "@scope/pkg". */
export function npmNameOf(spec: string): string {
  const bare = spec.startsWith("npm:") ? spec.slice(4) : spec;
  const at = bare.indexOf("@", bare.startsWith("@") ? 1 : 0);
  return at === -1 ? bare : bare.slice(0, at);
}

/** Whether a file spec looks like an attempt to load this package, right or wrong (to point out src/ vs dist/). */
export function mentionsPackage(path: string): boolean {
  return path.split(/[\\/]/).includes(PACKAGE_NAME);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
