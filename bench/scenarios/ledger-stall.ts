/**
 * L4: a suspended coordinator (issue 21). Three OpenCode-like processes on one HOME (the machine ledger), the real
 * engine each with 10 agents through the OpenCode-like caller, 2 accounts × real limit 3, 150 ms streams. The first
 * started (the coordinator) is suspended with SIGSTOP 6 s after the start, for 8 s (Ctrl-Z, a paused VM), then
 * continued; every process runs 20 s. Measured: the others' completions per second before the suspension and
 * from 2 s after it to its end (target ≥ 80% of their rate from 2 s to 6 s), and upstream 1302s over the whole run,
 * resume included (target 0).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../../simulator/server.js";
import { fixed } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";

const MODEL = "glm-4.7";
const ACCOUNTS = ["acct-a", "acct-b"];
const PROCESSES = 3;
const AGENTS = 10;
const RUN_MS = 20_000;
const STOP_AT_MS = 6_000;
/** The rate before the suspension is counted from here (the engines' cold start is over). */
const WARM_MS = 2_000;
const STOP_MS = 8_000;
/** The others' rate during the suspension is counted from this long after it began (detection and take-over). */
const SETTLE_MS = 2_000;

export interface StallRow {
  phase: string;
  /** Completions per second of the processes that were not suspended. */
  othersPerSecond: number;
  /** Completions per second of the suspended one (0 while it is stopped). */
  suspendedPerSecond: number;
}

export interface StallReport {
  rows: StallRow[];
  upstream: number;
  refused: number;
  callerFailures: number;
  completed: number;
}

interface Worker {
  proc: ChildProcess;
  done: number[];
  output: () => string;
}

function start(url: string, env: Record<string, string>): Worker {
  const args = ["--import", "tsx", "bench/lib/ledger-worker.ts", url, String(AGENTS), "0", MODEL, String(RUN_MS)];
  const proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
  const done: number[] = [];
  let text = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
    for (const match of chunk.matchAll(/^ok (\d+)$/gm)) done.push(Number(match[1]));
  });
  return { proc, done, output: () => text };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

export async function runLedgerStall(): Promise<StallReport> {
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((id) => ({ id, keys: [`sk-${id}-1`], limits: { [MODEL]: 3 } })),
    latencyMs: 0,
    chunks: 3,
    durationMs: 150,
  });
  const root = mkdtempSync(join(tmpdir(), "oc-zai-l4-"));
  const keysFile = join(root, "keys.json");
  const keys = ACCOUNTS.map((account) => ({ id: `${account}-1`, apiKey: `sk-${account}-1`, account }));
  writeFileSync(keysFile, JSON.stringify({ keys, models: { [MODEL]: { maxConcurrency: 3 } } }), { mode: 0o600 });
  const home = join(root, "home");
  const state = join(home, ".local", "state");
  const env = { HOME: home, XDG_STATE_HOME: state, ZAI_KEYS_FILE: keysFile, ZAI_LEDGER: "machine" };
  // The first is started alone, so that it is the coordinator.
  const first = start(sim.url, env);
  await until(() => first.output().includes("ready"));
  const workers = [first, ...Array.from({ length: PROCESSES - 1 }, () => start(sim.url, env))];
  await until(() => workers.every((w) => w.output().includes("ready")));
  sim.resetStats();
  const go = Date.now();
  for (const w of workers) w.proc.stdin!.write("go\n");
  const stopAt = go + STOP_AT_MS;
  await until(() => Date.now() >= stopAt);
  first.proc.kill("SIGSTOP");
  const stoppedAt = Date.now();
  await until(() => Date.now() >= stoppedAt + STOP_MS);
  first.proc.kill("SIGCONT");
  const resumedAt = Date.now();
  const exited = (w: Worker) =>
    new Promise<void>((r) => (w.proc.exitCode !== null ? r() : w.proc.once("exit", () => r())));
  await Promise.all(workers.map(exited));
  const stats = sim.stats();
  await sim.close();
  rmSync(root, { recursive: true, force: true });

  const rate = (list: number[], from: number, to: number) =>
    list.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
  const others = workers.slice(1).flatMap((w) => w.done);
  if (process.env.L4_DEBUG) {
    // Completions in each second since the start: the others', the suspended one's.
    const second = (list: number[]) =>
      Array.from({ length: 22 }, (_, i) => rate(list, go + i * 1000, go + i * 1000 + 1000));
    console.error(`others ${second(others).join(" ")}\nfirst  ${second(first.done).join(" ")}`);
    console.error(`stopped at ${stoppedAt - go} ms, resumed at ${resumedAt - go} ms`);
  }
  const end = Math.max(go + RUN_MS, ...workers.flatMap((w) => w.done));
  const phases: Array<[string, number, number]> = [
    [`before the suspension (${WARM_MS / 1000} s – ${STOP_AT_MS / 1000} s)`, go + WARM_MS, stoppedAt],
    [`suspended, first ${SETTLE_MS / 1000} s (detection, take-over)`, stoppedAt, stoppedAt + SETTLE_MS],
    [`suspended, from ${SETTLE_MS / 1000} s on`, stoppedAt + SETTLE_MS, resumedAt],
    ["after the resume", resumedAt, end],
  ];
  const resultOf = (w: Worker) =>
    w
      .output()
      .split("\n")
      .find((l) => l.startsWith("{")) ?? "{}";
  const results = workers.map((w) => JSON.parse(resultOf(w)) as { failures?: number; completed?: number });
  return {
    rows: phases.map(([phase, from, to]) => ({
      phase,
      othersPerSecond: rate(others, from, to),
      suspendedPerSecond: rate(first.done, from, to),
    })),
    upstream: stats.requests,
    refused: stats.byCode["1302"] ?? 0,
    callerFailures: results.reduce((s, r) => s + (r.failures ?? 0), 0),
    completed: results.reduce((s, r) => s + (r.completed ?? 0), 0),
  };
}

export function renderLedgerStall(report: StallReport): string {
  const rows = report.rows.map((r) => [r.phase, fixed(r.othersPerSecond, 1), fixed(r.suspendedPerSecond, 1)]);
  const summary =
    `${report.completed} requests answered, ${report.upstream} upstream, ` +
    `${report.refused} upstream 1302s, ${report.callerFailures} caller failures`;
  return `${table(["phase", "others: completed / s", "suspended one: completed / s"], rows)}\n\n${summary}`;
}

export function checkL4(report: StallReport, targets: Targets): void {
  const before = report.rows[0]?.othersPerSecond ?? 0;
  const during = report.rows[2]?.othersPerSecond ?? 0;
  const share = before === 0 ? 0 : during / before;
  const kept = "coordinator suspended 8 s: the others keep ≥ 80% of their rate from 2 s on";
  targets.check("L4", kept, `${fixed(share * 100, 0)}%`, share >= 0.8);
  const clean = "coordinator suspended 8 s: 0 upstream 1302s over the whole run";
  targets.check("L4", clean, String(report.refused), report.refused === 0);
}
