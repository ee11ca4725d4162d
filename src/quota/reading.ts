/** What the quota endpoint told about one account, as plain data (persisted for `status`, shared between processes). */

/** Which usage window a row describes. */
export type WindowKind = "five-hour" | "weekly" | "tools";

export interface QuotaWindow {
  /** The row's `type` as Z.AI sent it: TOKENS_LIMIT, CREDIT_LIMIT, TIME_LIMIT. */
  type: string;
  /** 0–100. */
  percentage: number;
  used?: number;
  limit?: number;
  remaining?: number;
  /** Epoch ms of the next reset, when the row names one. */
  resetAt?: number;
}

export interface QuotaReading {
  /** Epoch ms when it was read. */
  at: number;
  /** Plan level ("lite", "pro", "max"), when given. */
  level?: string;
  fiveHour?: QuotaWindow;
  weekly?: QuotaWindow;
  tools?: QuotaWindow;
}

/** The outcome of one call of the quota endpoint. */
export type QuotaAnswer =
  | { kind: "reading"; reading: QuotaReading; ignoredRows: number }
  /** The key was refused (401 status, or `success: false` with code 401 / 1000–1004 in a 200 body). */
  | { kind: "bad-key"; code: string; message: string }
  /** Anything else: HTML, an unknown shape, a 5xx, a timeout. Never an error for the request path. */
  | { kind: "unknown"; why: string };

/** The highest percentage of the windows that limit requests (5-hour and weekly) still current at `now`. */
export function usedPercent(reading: QuotaReading, now: number): number | undefined {
  const values = [reading.fiveHour, reading.weekly]
    .filter((w): w is QuotaWindow => w !== undefined && (w.resetAt === undefined || w.resetAt > now))
    .map((w) => w.percentage);
  return values.length === 0 ? undefined : Math.max(...values);
}

/**
 * When the account is past `threshold` (0–1) on a current window: the time that window resets
 * (the latest such reset when both are past; Infinity when the row names none). Undefined when below.
 */
export function pastThresholdUntil(reading: QuotaReading, threshold: number, now: number): number | undefined {
  let until: number | undefined;
  for (const w of [reading.fiveHour, reading.weekly]) {
    if (w === undefined || w.percentage < threshold * 100) continue;
    if (w.resetAt !== undefined && w.resetAt <= now) continue;
    const end = w.resetAt ?? Number.POSITIVE_INFINITY;
    until = until === undefined ? end : Math.max(until, end);
  }
  return until;
}
