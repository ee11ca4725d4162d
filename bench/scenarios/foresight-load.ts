/**
 * S9 foresight (issue 18): account x starts at 90% of its 5-hour window, y at 10%; real limit 3 each; 6 agents ×
 * 16 streams (each agent one session, OpenCode's retry loop around it); every request takes 0.5% of a window (a
 * window of 200 requests), so x crosses 95% after 10 requests. Both quota shapes: TOKENS_LIMIT rows, and
 * CREDIT_LIMIT rows only (integer percentages either way). Then an idle pause, to count reads while idle.
 * Read budget per account: 2 at start-up, 1 per 30 s, 1 per 5 requests sent to it.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import type { QuotaShape } from "../../simulator/quota.js";
import type { Simulator } from "../../simulator/types.js";
import { callLikeOpenCode } from "../baselines/opencode-caller.js";
import { foresightFetch } from "../lib/foresight-plugin.js";
import type { AccountKeys } from "../lib/plugin.js";
import { sleep } from "../lib/sleep.js";
import { percent } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import { TIMING } from "./load.js";

const MODEL = "glm-4.7";
const WINDOW = 200;
const LIMIT = 3;
const AGENTS = 6;
const PER_AGENT = 16;
const IDLE_MS = 3_000;
const ACCOUNTS: readonly AccountKeys[] = [
  { account: "x", keys: ["sk-test-x-1"] },
  { account: "y", keys: ["sk-test-y-1"] },
];

export interface ForesightRow {
  shape: QuotaShape;
  requests: number;
  failures: number;
  refused1308: number;
  afterThreshold: number;
  afterThresholdElsewhere: number;
  xEndPercent: number;
  reads: number;
  readBudget: number;
  idleReads: number;
  wallMs: number;
}

async function runOnce(shape: QuotaShape): Promise<ForesightRow> {
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((a) => ({
      id: a.account,
      keys: [...a.keys],
      limits: { [MODEL]: LIMIT },
      usageWindow: { requests: WINDOW },
    })),
    ...TIMING,
  });
  sim.setQuota({ account: "x", shape, fiveHourPercent: 90 });
  sim.setQuota({ account: "y", shape, fiveHourPercent: 10 });
  const fetch = foresightFetch(ACCOUNTS, {
    models: { [MODEL]: { maxConcurrency: LIMIT } },
    quota: { threshold: 0.95 },
    notifications: { toasts: false },
  });
  const row: ForesightRow = {
    shape,
    requests: 0,
    failures: 0,
    refused1308: 0,
    afterThreshold: 0,
    afterThresholdElsewhere: 0,
    xEndPercent: 0,
    reads: 0,
    readBudget: 0,
    idleReads: 0,
    wallMs: 0,
  };
  const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "go on" }], stream: true });
  const signal = new AbortController().signal;
  const started = performance.now();
  const agent = async (a: number): Promise<void> => {
    const headers = {
      "content-type": "application/json",
      "x-session-affinity": `ses_agent_${a}`,
      "x-session-id": `ses_agent_${a}`,
    };
    for (let i = 0; i < PER_AGENT; i++) {
      const outcome = await callLikeOpenCode(
        fetch,
        `${sim.url}/chat/completions`,
        () => ({ method: "POST", headers, body }),
        signal,
      );
      row.requests++;
      if (outcome.kind !== "ok" || outcome.attempts > 1) row.failures++;
    }
  };
  await Promise.all(Array.from({ length: AGENTS }, (_, a) => agent(a)));
  row.wallMs = performance.now() - started;
  const stats = sim.stats();
  row.refused1308 = stats.byCode["1308"] ?? 0;
  const after = servedAfter(sim, "x", 0.9 * WINDOW, 0.95 * WINDOW);
  row.afterThreshold = after.total;
  row.afterThresholdElsewhere = after.elsewhere;
  row.xEndPercent = sim.quota()["x"]?.fiveHourPercent ?? 0;
  row.reads = totalReads(sim);
  row.readBudget = readBudget(sim, row.wallMs);
  await sleep(IDLE_MS);
  row.idleReads = totalReads(sim) - row.reads;
  fetch.core.close();
  await sim.close();
  return row;
}

export function totalReads(sim: Simulator): number {
  return Object.values(sim.quota()).reduce((n, q) => n + q.reads, 0);
}

/** 2 at start-up, 1 per 30 s and 1 per 5 requests sent, per account. */
export function readBudget(sim: Simulator, wallMs: number): number {
  const sent = new Map<string, number>();
  for (const hit of sim.stats().hits) if (hit.account !== null) sent.set(hit.account, (sent.get(hit.account) ?? 0) + 1);
  const accounts = Object.keys(sim.quota());
  return accounts.reduce((n, a) => n + 2 + Math.ceil(wallMs / 30_000) + Math.floor((sent.get(a) ?? 0) / 5), 0);
}

/** Walks the served requests in order from `start` used on `hot`: counts those after it reached `mark`. */
export function servedAfter(
  sim: Simulator,
  hot: string,
  start: number,
  mark: number,
): { total: number; elsewhere: number } {
  let used = start;
  const out = { total: 0, elsewhere: 0 };
  for (const hit of sim.stats().hits) {
    if (hit.status !== 200) continue;
    if (used >= mark) {
      out.total++;
      if (hit.account !== hot) out.elsewhere++;
    }
    if (hit.account === hot) used++;
  }
  return out;
}

export async function runForesight(): Promise<ForesightRow[]> {
  return [await runOnce("tokens"), await runOnce("credits")];
}

export function renderForesight(rows: readonly ForesightRow[]): string {
  return table(
    [
      "quota shape",
      "requests",
      "failures",
      "1308s",
      "served after x passed 95%: elsewhere",
      "x at end",
      "quota reads (budget)",
      `reads in ${IDLE_MS / 1000} s idle`,
      "time",
    ],
    rows.map((r) => [
      r.shape === "tokens" ? "TOKENS_LIMIT" : "CREDIT_LIMIT only",
      String(r.requests),
      String(r.failures),
      String(r.refused1308),
      afterText(r),
      `${r.xEndPercent.toFixed(1)}%`,
      `${r.reads} (${r.readBudget})`,
      String(r.idleReads),
      `${Math.round(r.wallMs)} ms`,
    ]),
  );
}

/** "76/78 (97.44%)", or, when x never got past 95%, where it stopped. */
function afterText(r: ForesightRow): string {
  if (r.afterThreshold === 0) return `none: x stopped at ${r.xEndPercent.toFixed(1)}%`;
  return `${r.afterThresholdElsewhere}/${r.afterThreshold} (${percent(r.afterThresholdElsewhere, r.afterThreshold)})`;
}

export function checkForesight(rows: readonly ForesightRow[], targets: Targets): void {
  for (const r of rows) {
    const id = `S9 ${r.shape}`;
    const share = r.afterThresholdElsewhere >= 0.98 * r.afterThreshold;
    targets.check(id, "≥ 98% of requests after x passed 95% elsewhere", afterText(r), share);
    targets.check(
      id,
      "≤ 1 answer 1308, 0 failures",
      `${r.refused1308} / ${r.failures}`,
      r.refused1308 <= 1 && r.failures === 0,
    );
    targets.check(
      id,
      "reads within budget, none while idle",
      `${r.reads} ≤ ${r.readBudget}; ${r.idleReads} idle`,
      r.reads <= r.readBudget && r.idleReads === 0,
    );
  }
}
