/**
 * How the 2.x host finds and decodes a plugin module.
 * - packages/util/src/npm.ts `resolveEntryPoint` with subpaths ["server", ""] (packages/core/src/plugin/module.ts):
 *   the first subpath of the installed package that resolves is imported; `./server` wins over `.`.
 * - module.ts: `default` is decoded against `{ id, effect } | { id, setup }` (Effect Schema union: the first member
 *   that matches wins, extra keys are dropped, named exports are ignored); anything else fails with the message below.
 * The decoded copy is what runs: `setup` is called as a plain function (no `this`).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const DECODE_ERROR = "Plugin must export a default definition with an id and an effect or setup function";

export type Decoded =
  | { readonly id: string; readonly kind: "effect"; readonly effect: (ctx: unknown) => unknown }
  | { readonly id: string; readonly kind: "setup"; readonly setup: (ctx: unknown) => unknown };

/** The entry file 2.x imports for an installed package directory, by its `exports` (or `main`). */
export async function resolvePackageEntry(dir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
    exports?: Record<string, unknown>;
    main?: string;
  };
  for (const subpath of ["server", ""]) {
    const key = subpath ? `./${subpath}` : ".";
    const target = pkg.exports ? pkg.exports[key] : subpath === "" ? pkg.main : undefined;
    const file =
      typeof target === "string"
        ? target
        : ((target as { import?: string; default?: string } | undefined)?.import ??
          (target as { default?: string } | undefined)?.default);
    if (file) return join(dir, file);
  }
  throw new Error(`no entry point in ${dir}`);
}

export function decodeDefault(module: Record<string, unknown>): Decoded {
  const value = module.default;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.id === "string" && typeof record.effect === "function") {
      const effect = record.effect as (ctx: unknown) => unknown;
      return { id: record.id, kind: "effect", effect: (ctx) => effect(ctx) };
    }
    if (typeof record.id === "string" && typeof record.setup === "function") {
      const setup = record.setup as (ctx: unknown) => unknown;
      return { id: record.id, kind: "setup", setup: (ctx) => setup(ctx) };
    }
  }
  throw new Error(DECODE_ERROR);
}

export async function loadInstalledPlugin(dir: string): Promise<Decoded> {
  const entry = await resolvePackageEntry(dir);
  return decodeDefault((await import(pathToFileURL(entry).href)) as Record<string, unknown>);
}
