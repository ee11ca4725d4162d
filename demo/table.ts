import type { ZaiFetch } from "../src/lib.js";
import { formatLocalTime, formatWait } from "../src/util/format.js";
import type { SimulatorStats } from "../simulator/types.js";

export interface Progress {
  done: number;
  failed: number;
  total: number;
  startedAt: number;
  /** When the last request settled: the elapsed time stops there. */
  finishedAt?: number;
}

export interface RunResult {
  answered: number;
  failed: number;
  sent1302: number;
  upstreamCalls: number;
  ms: number;
  stopped: boolean;
}

/** One frame of the live per-account table: in flight / limit per model, done, state; then the progress line. */
export function renderTable(
  fetch: ZaiFetch,
  models: readonly string[],
  progress: Progress,
  stats: SimulatorStats,
  now: number,
): string {
  const { pool, leases, limits } = fetch;
  const head = ["account", ...models.map((m) => `${m} in flight/limit`), "done", "state"];
  const rows = pool.accounts.map((account) => {
    const cells = models.map((m) => `${leases.inFlight(account, m)}/${limits.limit(account, m)}`);
    const blockers = models.map((m) => pool.blocker(account, m, now)).filter((b) => b !== undefined);
    const first = blockers[0];
    let state = "serving";
    if (first?.kind === "account-cooling")
      state = `cooling until ${formatLocalTime(first.until, now)} (${first.code ?? ""})`;
    else if (first?.kind === "account-disabled" || first?.kind === "keys-disabled") state = "disabled";
    const disabledKeys = pool.keysOf(account).filter((k) => pool.state.disabledKeys.has(k.id));
    if (state === "serving" && disabledKeys.length > 0)
      state = `serving; key ${disabledKeys.map((k) => k.id).join(", ")} disabled (401)`;
    const unavailable = blockers.filter((b) => b.kind === "model-unavailable").length;
    if (unavailable > 0)
      state += `; ${models.filter((m) => pool.blocker(account, m, now)?.kind === "model-unavailable").join(", ")} not in plan`;
    const served = stats.hits.filter((h) => h.account === account && h.status === 200 && h.code === null).length;
    return [account, ...cells, String(served), state];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [
    line(head),
    ...rows.map(line),
    `${progressLine("plugin", progress, stats, now)}, waiting for a slot ${leases.waiting()}`,
  ].join("\n");
}

/** "seed-004: answered 12/96, failed 3, slots in use 4, 1302s 7, elapsed 21 s (stops at 45 s)". */
export function progressLine(
  name: string,
  progress: Progress,
  stats: SimulatorStats,
  now: number,
  deadlineMs?: number,
): string {
  const inUse = Object.values(stats.inFlight).reduce(
    (n, byModel) => n + Object.values(byModel).reduce((a, b) => a + b, 0),
    0,
  );
  const stops = deadlineMs === undefined ? "" : ` (stops at ${formatWait(deadlineMs)})`;
  const settled = progress.done + progress.failed;
  const idle =
    inUse === 0 && settled > 0 && settled < progress.total ? "; nothing in flight: OpenCode is waiting to retry" : "";
  return `${name}: answered ${progress.done}/${progress.total}, failed ${progress.failed}, slots in use ${inUse}, 1302s ${stats.byCode["1302"] ?? 0}, upstream calls ${stats.requests}, elapsed ${formatWait((progress.finishedAt ?? now) - progress.startedAt)}${stops}${idle}`;
}

/** The side-by-side summary: one column per contender. */
export function renderSummary(
  total: number,
  idealMs: number,
  streamMs: number,
  runs: ReadonlyArray<readonly [string, RunResult]>,
): string {
  const rows: Array<[string, (r: RunResult) => string]> = [
    ["answered", (r) => `${r.answered}/${total}`],
    ["not answered (failed or cut off)", (r) => String(total - r.answered)],
    ["1302s sent upstream", (r) => String(r.sent1302)],
    ["upstream calls", (r) => String(r.upstreamCalls)],
    ["time", (r) => `${(r.ms / 1000).toFixed(1)} s${r.stopped ? " (stopped)" : ""}`],
    // Answers per second against the ideal's: a run stopped early does not look better for having stopped.
    ["of ideal", (r) => ((idealMs * r.answered) / total / r.ms).toFixed(2)],
  ];
  const head = ["", ...runs.map(([name]) => name)];
  const body = rows.map(([label, cell]) => [label, ...runs.map(([, r]) => cell(r))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   ");
  return [
    "Summary",
    `ideal (every account healthy and at its limit, ${streamMs} ms per stream): ${(idealMs / 1000).toFixed(1)} s`,
    line(head),
    ...body.map(line),
  ].join("\n");
}
