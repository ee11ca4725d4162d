/**
 * S4 under Bun: `bun bench/lib/overhead-bun.ts <requests> <warmup> <block>` runs the overhead scenario and prints its
 * numbers as one JSON line (the bench's Node process starts it and renders the Bun row). Bun comes from $BUN, else
 * `bun` on PATH, else `npx --yes bun@1.4.5`, as in scripts/test-bun.mjs.
 */
import { spawnSync } from "node:child_process";
import { overheadNumbers, runOverhead, type OverheadNumbers } from "../scenarios/overhead.js";
import { ROOT } from "./built.js";

const BUN_VERSION = process.env.BUN_VERSION ?? "1.4.5";
const SELF = new URL(import.meta.url).pathname;

/** The Bun command and its version, or undefined when none can be found. */
function findBun(): { command: string[]; version: string } | undefined {
  const candidates = [process.env.BUN ? [process.env.BUN] : ["bun"], ["npx", "--yes", `bun@${BUN_VERSION}`]];
  for (const command of candidates) {
    const result = spawnSync(command[0]!, [...command.slice(1), "--version"], { encoding: "utf8", timeout: 120_000 });
    if (result.status === 0) return { command, version: result.stdout.trim() };
  }
  return undefined;
}

/** Runs S4 in a Bun child; undefined (with the reason) when Bun is missing or the run failed. */
export function overheadUnderBun(options: {
  requests: number;
  warmup: number;
  block: number;
}): { runtime: string; n: OverheadNumbers } | { error: string } {
  const bun = findBun();
  if (!bun) return { error: "no Bun found (set BUN=/path/to/bun, put bun on PATH, or allow `npx bun`)" };
  const args = [...bun.command.slice(1), SELF, String(options.requests), String(options.warmup), String(options.block)];
  const run = spawnSync(bun.command[0]!, args, { cwd: ROOT, encoding: "utf8", timeout: 600_000, maxBuffer: 1 << 24 });
  const line = run.stdout?.trim().split("\n").at(-1);
  if (run.status !== 0 || !line?.startsWith("{"))
    return { error: `bun exited ${run.status}: ${(run.stderr ?? "").trim().slice(-500)}` };
  return { runtime: `bun ${bun.version}`, n: JSON.parse(line) as OverheadNumbers };
}

if (
  (globalThis as { Bun?: unknown }).Bun &&
  process.argv[1] &&
  new URL(`file://${process.argv[1]}`).pathname === SELF
) {
  const [requests, warmup, block] = process.argv.slice(2).map(Number);
  const report = await runOverhead({ requests: requests!, warmup: warmup!, block: block! });
  process.stdout.write(`${JSON.stringify(overheadNumbers(report))}\n`);
  process.exit(0);
}
