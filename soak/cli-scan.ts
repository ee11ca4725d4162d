/** Runs the built CLI (`status`, `status --json`, `doctor`, `doctor --probe`) in the soak's HOME and returns its output. */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli.js");

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/** Builds dist/ when it is missing or older than src/ (the soak checks what users run). */
export async function ensureBuilt(say: (line: string) => void): Promise<void> {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest(join(ROOT, "src"))) return;
  say("building dist/ (npm run build) for the CLI checks ...");
  await run("npm", ["run", "build"], { cwd: ROOT });
}

export interface CliOutput {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(env: Record<string, string>, cwd: string, args: string[]): Promise<CliOutput> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env, timeout: 60_000 });
    return { args, code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { args, code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
