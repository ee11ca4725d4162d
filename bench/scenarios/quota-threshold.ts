/**
 * S7 quota threshold (issue 12): two accounts, one at 90% of its 5-hour window and one at 10% (windows of 1,000
 * requests in the simulator, limit 4 each). 8 agents send 320 requests; once the first account passes 95%, new
 * requests should go to the second. Run with quota routing and without (the 1308s it avoids), each on a fresh
 * simulator; then 12 s idle, to count reads while nothing is served.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { foresightFetch } from "../lib/foresight-plugin.js";
import type { AccountKeys } from "../lib/plugin.js";
import { sleep } from "../lib/sleep.js";
import { percent } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import { TIMING } from "./load.js";

const MODEL = "glm-4.7";
const WINDOW = 1000;
const AGENTS = 8;
const PER_AGENT = 40;
const IDLE_MS = 12_000;
const POLL_EVERY = 10;
const POLL_INTERVAL_MS = 5_000;
const ACCOUNTS: readonly AccountKeys[] = [
  { account: "hot", keys: ["sk-test-hot-1"] },
  { account: "cool", keys: ["sk-test-cool-1"] },
];

export interface QuotaRow {
  variant: string;
  requests: number;
  failures: number;
  refused1308: number;
  /** Served after the hot account's usage passed 95%, and how many of them by the cool one. */
  afterThreshold: number;
  afterThresholdOnCool: number;
  hotEndPercent: number;
  reads: number;
  readBudget: number;
  idleReads: number;
  wallMs: number;
}

async function runOnce(quota: boolean): Promise<QuotaRow> {
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((a) => ({
      id: a.account,
      keys: [...a.keys],
      limits: { [MODEL]: 4 },
      usageWindow: { requests: WINDOW },
    })),
    ...TIMING,
  });
  sim.setQuota({ account: "hot", fiveHourPercent: 90 });
  sim.setQuota({ account: "cool", fiveHourPercent: 10 });
  const fetch = foresightFetch(ACCOUNTS, {
    models: { [MODEL]: { maxConcurrency: 4 } },
    quota: { enabled: quota, threshold: 0.95, pollEveryCompletions: POLL_EVERY, pollIntervalMs: POLL_INTERVAL_MS },
    notifications: { toasts: false },
  });
  const row: QuotaRow = {
    variant: quota ? "quota routing on" : "quota routing off (reacts to 1308)",
    requests: 0,
    failures: 0,
    refused1308: 0,
    afterThreshold: 0,
    afterThresholdOnCool: 0,
    hotEndPercent: 0,
    reads: 0,
    readBudget: 0,
    idleReads: 0,
    wallMs: 0,
  };
  const body = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "go on" }], stream: true });
  const started = performance.now();
  const agent = async (): Promise<void> => {
    for (let i = 0; i < PER_AGENT; i++) {
      const response = await fetch(`${sim.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await response.text();
      row.requests++;
      if (!response.ok || !text.includes("[DONE]")) row.failures++;
    }
  };
  await Promise.all(Array.from({ length: AGENTS }, agent));
  row.wallMs = performance.now() - started;
  const stats = sim.stats();
  row.refused1308 = stats.byCode["1308"] ?? 0;
  countAfterThreshold(sim, row);
  row.hotEndPercent = sim.quota()["hot"]?.fiveHourPercent ?? 0;
  row.reads = totalReads(sim);
  // Start-up, one per account per 30 s, one per POLL_EVERY completions on each account.
  const served = stats.completed;
  row.readBudget = ACCOUNTS.length + ACCOUNTS.length * Math.ceil(row.wallMs / 30_000) + Math.ceil(served / POLL_EVERY);
  if (quota) {
    await sleep(IDLE_MS);
    row.idleReads = totalReads(sim) - row.reads;
  }
  fetch.foresight.close();
  fetch.leases.close();
  await sim.close();
  return row;
}

function totalReads(sim: Simulator): number {
  return Object.values(sim.quota()).reduce((n, q) => n + q.reads, 0);
}

/** Walks the served requests in order: the hot account's usage starts at 90%; counts what came after it hit 95%. */
function countAfterThreshold(sim: Simulator, row: QuotaRow): void {
  let hotUsed = 0.9 * WINDOW;
  let past = false;
  for (const hit of sim.stats().hits) {
    if (hit.status !== 200) continue;
    if (past) {
      row.afterThreshold++;
      if (hit.account === "cool") row.afterThresholdOnCool++;
    }
    if (hit.account === "hot") hotUsed++;
    if (hotUsed >= 0.95 * WINDOW) past = true;
  }
}

export async function runQuotaThreshold(): Promise<QuotaRow[]> {
  return [await runOnce(false), await runOnce(true)];
}

export function renderQuota(rows: readonly QuotaRow[]): string {
  return table(
    [
      "variant",
      "requests",
      "failures",
      "1308s",
      "served after hot passed 95%: on the cool account",
      "hot account at end",
      "quota reads (budget)",
      "reads in 12 s idle",
      "time",
    ],
    rows.map((r) => [
      r.variant,
      String(r.requests),
      String(r.failures),
      String(r.refused1308),
      `${r.afterThresholdOnCool}/${r.afterThreshold} (${percent(r.afterThresholdOnCool, r.afterThreshold)})`,
      `${r.hotEndPercent.toFixed(1)}%`,
      `${r.reads} (${r.readBudget})`,
      r.variant.startsWith("quota routing on") ? String(r.idleReads) : "-",
      `${Math.round(r.wallMs)} ms`,
    ]),
  );
}

export function checkQuota(rows: readonly QuotaRow[], targets: Targets): void {
  const off = rows.find((r) => r.variant.startsWith("quota routing off"));
  const on = rows.find((r) => r.variant.startsWith("quota routing on"));
  if (!on) return;
  const share = on.afterThresholdOnCool / Math.max(1, on.afterThreshold);
  targets.check(
    "S7",
    "≥ 90% of requests to the other account after 95%",
    percent(on.afterThresholdOnCool, on.afterThreshold),
    share >= 0.9,
  );
  targets.check(
    "S7",
    "at most one 1308",
    `${on.refused1308}${off ? ` (${off.refused1308} without quota routing)` : ""}`,
    on.refused1308 <= 1,
  );
  targets.check("S7", "no request fails", String(on.failures), on.failures === 0);
  targets.check(
    "S7",
    "quota reads within budget; ≤ 1 per account idle",
    `${on.reads} ≤ ${on.readBudget}; ${on.idleReads} idle`,
    on.reads <= on.readBudget && on.idleReads <= ACCOUNTS.length,
  );
}
