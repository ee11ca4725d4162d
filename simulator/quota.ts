/**
 * `GET /api/monitor/usage/quota/limit` as Z.AI answers it, in the shape each account's plan uses, with usage that
 * grows as the simulator serves requests; and `/_sim/quota` to set an account's shape, level and percentages.
 * The 5-hour percentage is the account's usage window (the one that answers 1308 when spent); accounts without
 * one get a window of DEFAULT_WINDOW requests when a percentage is set. The weekly window is counted here.
 */
import type { AccountRegistry, AccountState } from "./accounts.js";
import { authenticate, type AdmissionContext } from "./admission.js";

export const QUOTA_PATH = "/api/monitor/usage/quota/limit";
export const QUOTA_CONTROL_PATH = "/_sim/quota";
export const DEFAULT_WINDOW = 1000;
const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

export type QuotaShape = "tokens" | "credits" | "percentage-only";
export const QUOTA_SHAPES: readonly QuotaShape[] = ["tokens", "credits", "percentage-only"];

/** What `/_sim/quota` and `sim.setQuota` accept. Percentages are 0–100. */
export interface QuotaControl {
  account: string;
  shape?: QuotaShape;
  level?: string;
  fiveHourPercent?: number;
  weeklyPercent?: number;
}

interface QuotaState {
  shape: QuotaShape;
  level: string;
  weeklyRequests: number;
  weeklyUsed: number;
  weeklyResetAt: number;
  fiveHourResetAt: number;
  reads: number;
}

export interface QuotaSnapshot {
  shape: QuotaShape;
  level: string;
  fiveHourPercent: number;
  weeklyPercent: number;
  reads: number;
}

export class QuotaBook {
  readonly #states = new Map<string, QuotaState>();
  readonly #registry: AccountRegistry;
  readonly #now: () => number;

  constructor(registry: AccountRegistry, now: () => number) {
    this.#registry = registry;
    this.#now = now;
  }

  /** A request was admitted and served on `account`. */
  served(account: string): void {
    this.#state(account).weeklyUsed += 1;
  }

  set(control: QuotaControl): void {
    const account = this.#registry.get(control.account);
    const state = this.#state(control.account);
    if (control.shape !== undefined) state.shape = control.shape;
    if (control.level !== undefined) state.level = control.level;
    if (control.weeklyPercent !== undefined)
      state.weeklyUsed = Math.round((clampPercent(control.weeklyPercent) / 100) * state.weeklyRequests);
    if (control.fiveHourPercent !== undefined) {
      if (account.usage === null) this.#registry.setUsageWindow(account.id, { requests: DEFAULT_WINDOW });
      const usage = account.usage!;
      usage.used = Math.round((clampPercent(control.fiveHourPercent) / 100) * usage.window.requests);
      usage.stamp = null;
    }
  }

  snapshot(): Record<string, QuotaSnapshot> {
    const out: Record<string, QuotaSnapshot> = {};
    for (const [id, s] of this.#states) {
      out[id] = {
        shape: s.shape,
        level: s.level,
        fiveHourPercent: fiveHourPercent(this.#registry.get(id)),
        weeklyPercent: weeklyPercent(s),
        reads: s.reads,
      };
    }
    return out;
  }

  /** The endpoint's answer: always HTTP 200; a bad key is reported in the body, as Z.AI does. */
  answer(ctx: AdmissionContext, key: string): string {
    const account = authenticate(ctx, key);
    if ("kind" in account) return JSON.stringify({ code: 401, msg: "token expired or incorrect", success: false });
    const state = this.#state(account.id);
    state.reads += 1;
    return JSON.stringify({
      code: 200,
      msg: "Operation successful",
      data: { limits: this.#rows(account, state), level: state.level },
      success: true,
    });
  }

  #rows(account: AccountState, s: QuotaState): object[] {
    const five = fiveHourPercent(account);
    const week = weeklyPercent(s);
    const resetAt = account.usage?.window.resetAt;
    const fiveReset = typeof resetAt === "number" ? resetAt : s.fiveHourResetAt;
    switch (s.shape) {
      case "percentage-only":
        return [
          { type: "TOKENS_LIMIT", unit: 3, number: 5, percentage: Math.round(five) },
          { type: "TOKENS_LIMIT", unit: 6, number: 1, percentage: Math.round(week) },
        ];
      case "credits":
        return [
          row("CREDIT_LIMIT", 3, 5, 2000, five, fiveReset),
          row("CREDIT_LIMIT", 6, 1, 12000, week, s.weeklyResetAt),
        ];
      case "tokens":
        return [
          { ...row("TIME_LIMIT", 5, 1, 1000, 0, s.weeklyResetAt), usageDetails: [] },
          row("TOKENS_LIMIT", 3, 5, 800_000_000, five, fiveReset),
          row("TOKENS_LIMIT", 6, 1, 4_000_000_000, week, s.weeklyResetAt),
        ];
      default:
        return s.shape satisfies never;
    }
  }

  #state(account: string): QuotaState {
    let state = this.#states.get(account);
    if (state === undefined) {
      this.#registry.get(account);
      const now = this.#now();
      const requests = this.#registry.get(account).usage?.window.requests ?? DEFAULT_WINDOW;
      state = {
        shape: "tokens",
        level: "pro",
        weeklyRequests: requests * 10,
        weeklyUsed: 0,
        weeklyResetAt: now + WEEK_MS,
        fiveHourResetAt: now + 5 * HOUR_MS,
        reads: 0,
      };
      this.#states.set(account, state);
    }
    return state;
  }
}

function row(
  type: string,
  unit: number,
  number: number,
  total: number,
  percent: number,
  nextResetTime: number,
): object {
  const current = Math.round((percent / 100) * total);
  return {
    type,
    unit,
    number,
    usage: total,
    currentValue: current,
    remaining: total - current,
    percentage: Math.round(percent),
    nextResetTime,
  };
}

function fiveHourPercent(account: AccountState): number {
  const usage = account.usage;
  if (usage === null || usage.window.requests <= 0) return 0;
  return clampPercent((usage.used / usage.window.requests) * 100);
}

function weeklyPercent(s: QuotaState): number {
  return s.weeklyRequests <= 0 ? 0 : clampPercent((s.weeklyUsed / s.weeklyRequests) * 100);
}

function clampPercent(p: number): number {
  return Math.min(100, Math.max(0, Number.isFinite(p) ? p : 0));
}

/** Validates a `/_sim/quota` body. Throws RangeError naming the field. */
export function parseQuotaControl(body: unknown): QuotaControl {
  if (typeof body !== "object" || body === null) throw new RangeError("quota control must be an object");
  const raw = body as Record<string, unknown>;
  if (typeof raw["account"] !== "string" || raw["account"] === "")
    throw new RangeError("account must be a non-empty string");
  const out: QuotaControl = { account: raw["account"] };
  const shape = raw["shape"];
  if (shape !== undefined) {
    if (!QUOTA_SHAPES.includes(shape as QuotaShape))
      throw new RangeError(`shape must be one of ${QUOTA_SHAPES.join(", ")}, got ${JSON.stringify(shape)}`);
    out.shape = shape as QuotaShape;
  }
  if (raw["level"] !== undefined) {
    if (typeof raw["level"] !== "string") throw new RangeError("level must be a string");
    out.level = raw["level"];
  }
  for (const name of ["fiveHourPercent", "weeklyPercent"] as const) {
    const v = raw[name];
    if (v === undefined) continue;
    if (typeof v !== "number" || v < 0 || v > 100)
      throw new RangeError(`${name} must be a number 0–100, got ${JSON.stringify(v)}`);
    out[name] = v;
  }
  return out;
}
