/**
 * S6 session stickiness (issue 12): concurrent OpenCode-like sessions on 3 accounts (limit 4 each), every turn
 * resending the conversation so far (a shared system prompt, then the session's own history). The simulator's
 * per-account prompt cache reports `cached_tokens`. Same workload with session headers (sticky) and without
 * (plain round-robin), each on a fresh simulator, alternated `REPEATS` times; times are medians.
 * S8 (issue 18) is the oversubscribed shape: more sessions than slots, subagents sending OpenCode 2.x headers
 * (own id in x-opencode-session-id, the parent's in x-session-affinity), varied turn and think times.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import { foresightFetch, usageOf } from "../lib/foresight-plugin.js";
import { sleep } from "../lib/sleep.js";
import { percent, percentile } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import type { AccountKeys } from "../lib/plugin.js";
import { TIMING } from "./load.js";

const MODEL = "glm-4.7";
const REPEATS = 3;

/** One workload: `subagents` of the `sessions` start after their parent's first turn (parents: the first ones). */
export interface StickyShape {
  id: string;
  sessions: number;
  subagents: number;
  turns: number;
  limit: number;
  /** Stream time of a turn (after the simulator's 50 ms latency), spread over [min, max] by session and turn. */
  streamMs?: [number, number];
  thinkMs: [number, number];
  /** The simulator's prefill time per 1,000 uncached prompt tokens; the plugin is told the same (cacheMsPer1kTokens). */
  prefillMsPer1kTokens?: number;
}

export const S6 = (sessions: number): StickyShape => ({
  id: "S6",
  sessions,
  subagents: 0,
  turns: 10,
  limit: 4,
  thinkMs: [5, 25],
  prefillMsPer1kTokens: 100,
});
/** Issue 18: 12 sessions (4 subagents) × 6 turns on 3 accounts × limit 3; turns 150–350 ms, 0–100 ms between. */
export const S8: StickyShape = {
  id: "S8",
  sessions: 12,
  subagents: 4,
  turns: 6,
  limit: 3,
  streamMs: [100, 300],
  thinkMs: [0, 100],
  prefillMsPer1kTokens: 100,
};

/** A spread of [min, max] that looks random but is the same in every run (and for both variants). */
function spread([min, max]: [number, number], s: number, t: number): number {
  return min + (((s * 7919 + t * 104_729) % 1009) / 1008) * (max - min);
}
const ACCOUNTS: readonly AccountKeys[] = ["a", "b", "c"].map((n) => ({
  account: `acct-${n}`,
  keys: [`sk-test-${n}-1`, `sk-test-${n}-2`],
}));
const SYSTEM = "You are OpenCode, an interactive CLI coding agent. Follow the repository's conventions. ".repeat(50);
const HISTORY_REPLY = "Here is the change, with the reasoning behind each edit and the tests it needs. ".repeat(10);

export interface StickyRow {
  id: string;
  variant: string;
  sessions: number;
  turns: number;
  failures: number;
  refused1302: number;
  followUps: number;
  followUpsSameAccount: number;
  warmFollowUps: number;
  promptTokens: number;
  cachedTokens: number;
  wallMs: number;
}

async function runOnce(shape: StickyShape, sticky: boolean): Promise<StickyRow> {
  const { sessions, limit } = shape;
  const prefill = shape.prefillMsPer1kTokens ?? 0;
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((a) => ({ id: a.account, keys: [...a.keys], limits: { [MODEL]: limit } })),
    ...TIMING,
    prefillMsPer1kTokens: prefill,
  });
  const fetch = foresightFetch(ACCOUNTS, {
    models: { [MODEL]: { maxConcurrency: limit } },
    quota: { enabled: false },
    ...(shape.prefillMsPer1kTokens === undefined ? {} : { affinity: { cacheMsPer1kTokens: prefill } }),
    notifications: { toasts: false },
  });
  const row: StickyRow = {
    id: shape.id,
    variant: sticky ? "sticky (session headers)" : "round-robin (no session headers)",
    sessions,
    turns: 0,
    failures: 0,
    refused1302: 0,
    followUps: 0,
    followUpsSameAccount: 0,
    warmFollowUps: 0,
    promptTokens: 0,
    cachedTokens: 0,
    wallMs: 0,
  };
  const systemTokens = Math.ceil(JSON.stringify({ role: "system", content: SYSTEM }).length / 4);
  const primaries = sessions - shape.subagents;
  const firstTurnDone = new Map<number, () => void>();
  const firstTurns = Array.from(
    { length: primaries },
    (_, s) => new Promise<void>((resolve) => firstTurnDone.set(s, resolve)),
  );
  const session = async (s: number): Promise<void> => {
    const id = `ses_bench_${s}`;
    const parent = s >= primaries ? (s - primaries) % primaries : undefined;
    if (parent !== undefined) await firstTurns[parent];
    const messages: object[] = [{ role: "system", content: SYSTEM }];
    let previous: string | null = null;
    for (let t = 0; t < shape.turns; t++) {
      messages.push({ role: "user", content: `session ${s} turn ${t}: please look at file ${s}-${t}.ts` });
      const headers: Record<string, string> = {
        "content-type": "application/json",
        authorization: "Bearer oc-zai-multi-account-managed",
      };
      if (shape.streamMs) headers["x-sim-duration-ms"] = String(Math.round(spread(shape.streamMs, s, t)));
      if (sticky && parent === undefined) Object.assign(headers, { "x-session-affinity": id, "x-session-id": id });
      // A 2.x subagent: its own id, and the parent's in the affinity headers (affinity = parentID ?? id).
      const parentId = `ses_bench_${parent}`;
      if (sticky && parent !== undefined)
        Object.assign(headers, {
          "x-opencode-session-id": id,
          "x-opencode-parent-session-id": parentId,
          "x-session-affinity": parentId,
          "x-session-id": parentId,
          "x-parent-session-id": parentId,
        });
      const response = await fetch(`${sim.url}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: MODEL, messages, stream: true }),
      });
      const text = await response.text();
      row.turns++;
      if (!response.ok || !text.includes("[DONE]")) {
        row.failures++;
        continue;
      }
      const account = response.headers.get("x-sim-account");
      const usage = usageOf(text);
      row.promptTokens += usage.prompt;
      row.cachedTokens += usage.cached;
      if (t > 0) {
        row.followUps++;
        if (account === previous) row.followUpsSameAccount++;
        // Warm: the session's own history was cached, not only the system prompt every session shares.
        if (usage.cached > systemTokens) row.warmFollowUps++;
      }
      previous = account;
      messages.push({ role: "assistant", content: HISTORY_REPLY });
      if (t === 0) firstTurnDone.get(s)?.();
      await sleep(spread(shape.thinkMs, s, t));
    }
    if (shape.turns === 0) firstTurnDone.get(s)?.();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: sessions }, (_, s) => session(s)));
  row.wallMs = performance.now() - started;
  row.refused1302 = sim.stats().byCode["1302"] ?? 0;
  fetch.foresight.close();
  fetch.leases.close();
  await sim.close();
  return row;
}

/** Medians of the wall time over `REPEATS` alternated runs; counts summed. */
export async function runSticky(shape: StickyShape): Promise<{ sticky: StickyRow; plain: StickyRow; ratio: number }> {
  const runs: { sticky: StickyRow[]; plain: StickyRow[] } = { sticky: [], plain: [] };
  for (let i = 0; i < REPEATS; i++) {
    runs.plain.push(await runOnce(shape, false));
    runs.sticky.push(await runOnce(shape, true));
  }
  const merge = (rows: StickyRow[]): StickyRow => ({
    ...rows[0]!,
    turns: sum(rows, "turns"),
    failures: sum(rows, "failures"),
    refused1302: sum(rows, "refused1302"),
    followUps: sum(rows, "followUps"),
    followUpsSameAccount: sum(rows, "followUpsSameAccount"),
    warmFollowUps: sum(rows, "warmFollowUps"),
    promptTokens: sum(rows, "promptTokens"),
    cachedTokens: sum(rows, "cachedTokens"),
    wallMs: percentile(
      rows.map((r) => r.wallMs),
      50,
    ),
  });
  const sticky = merge(runs.sticky);
  const plain = merge(runs.plain);
  return { sticky, plain, ratio: sticky.wallMs / plain.wallMs };
}

function sum(rows: StickyRow[], field: keyof Omit<StickyRow, "variant" | "id">): number {
  return rows.reduce((n, r) => n + r[field], 0);
}

export function renderSticky(results: ReadonlyArray<{ sticky: StickyRow; plain: StickyRow; ratio: number }>): string {
  const rows = results.flatMap(({ sticky, plain, ratio }) =>
    [plain, sticky].map((r) => [
      r.variant,
      String(r.sessions),
      String(r.turns),
      percent(r.followUpsSameAccount, r.followUps),
      percent(r.warmFollowUps, r.followUps),
      percent(r.cachedTokens, r.promptTokens),
      String(r.failures),
      String(r.refused1302),
      `${Math.round(r.wallMs)} ms`,
      r === sticky ? `${ratio.toFixed(3)}×` : "1",
    ]),
  );
  return table(
    [
      "variant",
      "sessions",
      "turns",
      "follow-ups on previous account",
      "follow-ups on a warm cache",
      "prompt tokens cached",
      "failures",
      "1302s",
      "time (median)",
      "time vs no headers",
    ],
    rows,
  );
}

export function checkSticky(result: { sticky: StickyRow; ratio: number }, targets: Targets): void {
  const s = result.sticky;
  const share = s.followUpsSameAccount / Math.max(1, s.followUps);
  const maxRatio = s.id === "S8" ? 1.05 : 1.15;
  targets.check(
    s.id,
    `${s.sessions} sessions: ≥ 90% of follow-ups on the previous account`,
    percent(s.followUpsSameAccount, s.followUps),
    share >= 0.9,
  );
  targets.check(
    s.id,
    `${s.sessions} sessions: 0 failures, 0 1302s`,
    `${s.failures} / ${s.refused1302}`,
    s.failures === 0 && s.refused1302 === 0,
  );
  targets.check(
    s.id,
    `${s.sessions} sessions: time ≤ ${maxRatio}× without session headers`,
    `${result.ratio.toFixed(3)}×`,
    result.ratio <= maxRatio,
  );
}
