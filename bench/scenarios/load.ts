/**
 * S1–S3 share this: 48 agents × 10 sequential requests against 3 accounts, streams of 200 ms, the real limit
 * following a plan; each contender runs the same workload on its own simulator with the same deadline (1.5 × the
 * ideal time). The plugin runs alone; the two baselines run at the same time as each other (separate simulators,
 * a few dozen requests per second between them) to keep the whole benchmark under 3 minutes.
 * Efficiency = work done ÷ capacity offered until the end (see lib/capacity.ts).
 */
import { efficiency, idealPlan } from "../lib/capacity.js";
import { ACCOUNTS, arena, CONTENDER_LABEL, type ContenderKind, type Timing } from "../lib/contenders.js";
import { fixed, ms, percentile } from "../lib/stats.js";
import { table } from "../lib/table.js";
import { runLoad } from "../lib/workload.js";

export const MODEL = "glm-4.7";
export const AGENTS = 48;
export const REQUESTS_PER_AGENT = 10;
export const STREAM_MS = 200;
/** 50 ms to the first chunk, then 4 more frames spread over 150 ms: 200 ms per stream. */
export const TIMING: Timing = { latencyMs: 50, chunks: 4, durationMs: 150 };
export const DEADLINE_FACTOR = 1.5;

export interface LoadScenario {
  id: string;
  /** maxConcurrency the plugin is configured with. */
  configuredLimit: number;
  /** The real per-account limit, from fractions of the ideal run time on. */
  realLimit: ReadonlyArray<{ from: number; limit: number }>;
}

const BASELINES: readonly ContenderKind[] = ["seed004", "single-key"];

export interface ContenderRow {
  kind: ContenderKind;
  completed: number;
  total: number;
  finished: boolean;
  wallMs: number;
  efficiency: number;
  upstream: number;
  refused1302: number;
  callerFailures: number;
  gaveUp: number;
  waitP50: number;
  waitP99: number;
  maxInFlight: number;
  notes: string;
}

export interface LoadReport {
  idealMs: number;
  deadlineMs: number;
  rows: ContenderRow[];
}

export async function runLoadScenario(spec: LoadScenario): Promise<LoadReport> {
  const work = AGENTS * REQUESTS_PER_AGENT * STREAM_MS;
  const { idealMs, plan } = idealPlan(
    work,
    spec.realLimit.map((p) => ({ from: p.from, slots: p.limit * ACCOUNTS.length })),
  );
  const deadlineMs = Math.round(idealMs * DEADLINE_FACTOR);
  const runOne = async (kind: ContenderKind): Promise<ContenderRow> => {
    const env = await arena(kind, MODEL, spec.realLimit[0]!.limit, TIMING, {
      models: { [MODEL]: { maxConcurrency: spec.configuredLimit } },
      notifications: { toasts: false },
    });
    const events = spec.realLimit.slice(1).map((phase) => ({
      atMs: phase.from * idealMs,
      run: () => ACCOUNTS.forEach((a) => env.sim.setLimit(a.account, MODEL, phase.limit)),
    }));
    const result = await runLoad(env.contender, {
      agents: AGENTS,
      requestsPerAgent: REQUESTS_PER_AGENT,
      deadlineMs,
      url: `${env.sim.url}/chat/completions`,
      model: MODEL,
      events,
    });
    const stats = env.sim.stats();
    await env.close();
    return {
      kind,
      completed: result.completed,
      total: result.total,
      finished: result.finished,
      wallMs: result.wallMs,
      efficiency: efficiency(result.completed, STREAM_MS, plan, result.wallMs),
      upstream: stats.requests,
      refused1302: stats.byCode["1302"] ?? 0,
      callerFailures: result.callerFailures,
      gaveUp: result.gaveUp,
      waitP50: percentile(result.queueWaits, 50),
      waitP99: percentile(result.queueWaits, 99),
      maxInFlight: Math.max(...ACCOUNTS.map((a) => stats.maxInFlight[a.account]?.[MODEL] ?? 0)),
      notes: env.notes(),
    };
  };
  const plugin = await runOne("plugin");
  const rows = [plugin, ...(await Promise.all(BASELINES.map(runOne)))];
  return { idealMs, deadlineMs, rows };
}

/**
 * Every contender had the same deadline; a request not answered by then counts as not done (whether it failed or was
 * still waiting). Queue waits exist only for answered requests, so their column says how many that is.
 */
export function renderLoad(report: LoadReport): string {
  return table(
    [
      "contender",
      "answered by the deadline",
      "not done",
      "time",
      "req/s",
      "efficiency",
      "upstream reqs",
      "1302s",
      "caller failures",
      "queue wait p50 (answered only)",
      "p99",
      "max in flight",
      "notes",
    ],
    report.rows.map((r) => [
      CONTENDER_LABEL[r.kind],
      `${r.completed}/${r.total}`,
      String(r.total - r.completed),
      r.finished ? ms(r.wallMs) : `cut at ${ms(r.wallMs)}`,
      (r.completed / (r.wallMs / 1000)).toFixed(1),
      fixed(r.efficiency),
      String(r.upstream),
      String(r.refused1302),
      String(r.callerFailures + (r.gaveUp > 0 ? ` (${r.gaveUp} given up)` : "")),
      `${ms(r.waitP50)} (of ${r.completed})`,
      ms(r.waitP99),
      String(r.maxInFlight),
      r.notes,
    ]),
  );
}
