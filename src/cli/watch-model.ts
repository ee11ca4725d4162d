import type { PairStatus } from "../ledger/ledger.js";
import type { LoggedEvent } from "../state/event-log.js";
import type { QuotaStatus, WindowStatus } from "../quota/quota-status.js";
import type { AccountStatus } from "./status-report.js";

/** One (account, model) row: in flight / limit, waiting, who holds the slots. */
export interface WatchPair {
  model: string;
  inFlight: number;
  limit: number;
  /** The limit was learned (lower or higher than where it starts). */
  learned: boolean;
  queued: number;
  holders: string[];
}

export interface WatchWindow {
  name: "5-hour" | "weekly";
  percent: number;
  resetAt: number | undefined;
  /** Where the window ends at the pace so far (percent at its reset), when the reading allows a guess. */
  projected: number | undefined;
}

export interface WatchAccount {
  account: string;
  /** "usable", or why not (cooling until ..., disabled: ...). */
  state: string;
  usable: boolean;
  plan: string | undefined;
  pairs: WatchPair[];
  windows: WatchWindow[];
}

/** Everything one frame of `status --watch` shows; built from files and the ledger, rendered by watch-render.ts. */
export interface WatchModel {
  provider: string;
  now: number;
  ledger: string;
  accounts: WatchAccount[];
  events: Array<{ at: number; text: string }>;
}

export interface WatchInput {
  provider: string;
  now: number;
  ledger: { kind: string; state: string; detail: string; pairs: readonly PairStatus[] };
  accounts: ReadonlyArray<AccountStatus & { quota?: QuotaStatus | undefined }>;
  /** The current limit of a pair: learned (state file) or where it starts (keys file or default). */
  limitOf: (account: string, model: string) => { limit: number; learned: boolean };
  events: readonly LoggedEvent[];
  /** How many of the newest events to show. */
  maxEvents?: number;
}

const FIVE_HOURS = 5 * 3_600_000;
const WEEK = 7 * 24 * 3_600_000;

/** Pure: the frame's data. Accounts in configured order; every model with a learned limit or a slot in use. */
export function watchModel(input: WatchInput): WatchModel {
  const accounts = input.accounts.map((a): WatchAccount => {
    const fromLedger = input.ledger.pairs.filter((p) => p.account === a.account);
    const models = [...new Set([...fromLedger.map((p) => p.model), ...a.limits.map((l) => l.model)])].sort();
    const pairs = models.map((model): WatchPair => {
      const p = fromLedger.find((x) => x.model === model);
      const { limit, learned } = input.limitOf(a.account, model);
      const holders = (p?.holders ?? []).map((h) => `${h.host}:${h.pid}`);
      return { model, inFlight: p?.inFlight ?? 0, limit, learned, queued: p?.queued ?? 0, holders };
    });
    const windows: WatchWindow[] = [];
    if (a.quota?.fiveHour) windows.push(watchWindow("5-hour", a.quota.fiveHour, FIVE_HOURS, a.quota.readAt));
    if (a.quota?.weekly) windows.push(watchWindow("weekly", a.quota.weekly, WEEK, a.quota.readAt));
    const state = a.usable ? "usable" : (a.why ?? "not usable");
    return { account: a.account, state, usable: a.usable, plan: a.quota?.level, pairs, windows };
  });
  const events = input.events
    .filter((e) => e.provider === input.provider)
    .slice(-(input.maxEvents ?? 6))
    .map((e) => ({ at: e.at, text: e.text }));
  const { kind, state, detail } = input.ledger;
  const ledger = `${kind} ledger: ${state === "ok" ? "ok" : `${state} (${detail})`}`;
  return { provider: input.provider, now: input.now, ledger, accounts, events };
}

/**
 * Where a window ends at the pace so far: the share used over the share of the window gone by at the reading.
 * Undefined without a reset time, or too early in the window (under 5 %) for the pace to mean anything.
 */
export function projectedAtReset(
  percent: number,
  resetAt: number | undefined,
  length: number,
  readAt: number,
): number | undefined {
  if (resetAt === undefined) return undefined;
  const gone = (length - (resetAt - readAt)) / length;
  if (gone < 0.05 || gone > 1) return undefined;
  return Math.round(percent / gone);
}

function watchWindow(name: WatchWindow["name"], w: WindowStatus, length: number, readAt: string): WatchWindow {
  const resetAt = w.resetAt === undefined ? undefined : Date.parse(w.resetAt);
  const projected = projectedAtReset(w.percent, resetAt, length, Date.parse(readAt));
  return { name, percent: w.percent, resetAt, projected };
}
