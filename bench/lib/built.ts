/**
 * The plugin as it ships (dist/, built by tsup), for the per-request overhead: src/ run through tsx carries esbuild's
 * keepNames wrappers (a `__name` call per closure made), which the built plugin does not, and would be measured too.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const LIB = join(ROOT, "dist", "lib.js");

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/** dist/lib.js, built first when it is missing or older than src/. */
export async function builtLib(): Promise<typeof import("../../src/lib.js")> {
  if (!existsSync(LIB) || statSync(LIB).mtimeMs < newest(join(ROOT, "src"))) {
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }
  return (await import(pathToFileURL(LIB).href)) as typeof import("../../src/lib.js");
}
