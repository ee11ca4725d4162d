import type { QuotaReading, QuotaWindow } from "./reading.js";

/** What an account used, counted as it happens (cumulative; differences give the usage between two moments). */
export interface UsageCount {
  /** Requests sent to the account (counted when a slot is granted: Z.AI may charge them before they end). */
  requests: number;
  /** Prompt + completion tokens of the answers whose `usage` was seen. */
  tokens: number;
  /** Answers whose `usage` was seen. */
  tokened: number;
  /** Cached prompt tokens of those answers (for `status`). */
  cached: number;
}

export const NO_USAGE: UsageCount = { requests: 0, tokens: 0, tokened: 0, cached: 0 };

/**
 * How fast one window fills: percentage points per request and per token, each learned from two readings and the
 * usage counted between them, and how far each one's last prediction missed (the smaller one projects). Tokens
 * explain plans charged by tokens; requests explain plans where tokens do not (credits with cached-input discounts,
 * peak-hour multipliers move the window by request more steadily than by token).
 */
export interface WindowRate {
  perRequest: number | undefined;
  perToken: number | undefined;
  requestMiss: number;
  tokenMiss: number;
  /** Points per minute between the two readings (the pace `status` projects with), when time passed between them. */
  perMinute?: number;
}

export interface UsageRate {
  fiveHour?: WindowRate;
  weekly?: WindowRate;
}

const WINDOWS = ["fiveHour", "weekly"] as const;
/** What two whole percentages may hide of the movement between them. */
export const ROUNDING_POINTS = 1;

export function usageBetween(from: UsageCount, to: UsageCount): UsageCount {
  return {
    requests: to.requests - from.requests,
    tokens: to.tokens - from.tokens,
    tokened: to.tokened - from.tokened,
    cached: to.cached - from.cached,
  };
}

/**
 * The rates after a new reading: `previous` was read with `since` used before `next`. A window that dropped (a
 * reset), readings of another window, or nothing used between keep the prior rate.
 */
export function calibrate(previous: QuotaReading, next: QuotaReading, since: UsageCount, prior: UsageRate): UsageRate {
  const rate: UsageRate = { ...prior };
  if (since.requests <= 0 && since.tokens <= 0) return rate;
  for (const w of WINDOWS) {
    const a = previous[w];
    const b = next[w];
    if (a === undefined || b === undefined || b.percentage < a.percentage || a.resetAt !== b.resetAt) continue;
    // Whole percentages (Z.AI rounds them) hide up to a point of movement: counted, so that the rate errs high.
    const whole = Number.isInteger(a.percentage) && Number.isInteger(b.percentage);
    const moved = b.percentage - a.percentage + (whole ? ROUNDING_POINTS : 0);
    const old = prior[w];
    const miss = (predicted: number | undefined, before: number) =>
      predicted === undefined ? before : Math.abs(predicted - moved);
    const minutes = (next.at - previous.at) / 60_000;
    const pace = minutes > 0 ? (b.percentage - a.percentage) / minutes : old?.perMinute;
    rate[w] = {
      ...(pace === undefined ? {} : { perMinute: pace }),
      perRequest: since.requests > 0 ? moved / since.requests : old?.perRequest,
      perToken: since.tokens > 0 && since.tokened > 0 ? moved / tokensOf(since) : old?.perToken,
      requestMiss: miss(old?.perRequest && old.perRequest * since.requests, old?.requestMiss ?? 0),
      tokenMiss: miss(old?.perToken && old.perToken * tokensOf(since), old?.tokenMiss ?? Infinity),
    };
  }
  return rate;
}

/** Tokens used, with the requests whose usage is not seen yet counted at the average seen so far. */
function tokensOf(u: UsageCount, average = u.tokened > 0 ? u.tokens / u.tokened : 0): number {
  return u.tokens + Math.max(0, u.requests - u.tokened) * average;
}

/** Points a window moved by `since`, by the rate that predicted better (requests until tokens proved better). */
export function movedBy(rate: WindowRate, since: UsageCount, averageTokens: number): number {
  if (rate.perToken !== undefined && rate.tokenMiss < rate.requestMiss) {
    return rate.perToken * tokensOf(since, averageTokens);
  }
  return (rate.perRequest ?? 0) * since.requests;
}

/**
 * The reading as it probably stands now: each window moved on by its rate × what was used since the read.
 * Between two reads an account can cross the threshold; this lets routing see it without reading more often.
 */
export function project(reading: QuotaReading, rate: UsageRate, since: UsageCount, averageTokens = 0): QuotaReading {
  if (since.requests <= 0 && since.tokens <= 0) return reading;
  const out: QuotaReading = { ...reading };
  for (const w of WINDOWS) {
    const window: QuotaWindow | undefined = reading[w];
    const r = rate[w];
    if (window === undefined || r === undefined) continue;
    const moved = movedBy(r, since, averageTokens);
    if (moved > 0) out[w] = { ...window, percentage: Math.min(100, window.percentage + moved) };
  }
  return out;
}
