import type { QuotaReading, QuotaWindow } from "./reading.js";

/** Percentage points per completion, per window, learned from two readings of one account. */
export interface UsageRate {
  fiveHour?: number;
  weekly?: number;
}

/**
 * How fast each window fills per completion served by this process, from two readings `completions` apart.
 * A window that dropped (a reset) or readings with nothing served between keep the previous rate.
 */
export function rateBetween(previous: QuotaReading, next: QuotaReading, completions: number, prior: UsageRate): UsageRate {
  const rate: UsageRate = { ...prior };
  if (completions <= 0) return rate;
  for (const w of ["fiveHour", "weekly"] as const) {
    const a = previous[w];
    const b = next[w];
    if (a === undefined || b === undefined || b.percentage < a.percentage || a.resetAt !== b.resetAt) continue;
    rate[w] = (b.percentage - a.percentage) / completions;
  }
  return rate;
}

/**
 * The reading as it probably stands now: each window moved on by its rate × completions served since the read.
 * Between two reads an account can cross the threshold; this lets routing see it without reading more often.
 */
export function project(reading: QuotaReading, rate: UsageRate, completionsSince: number): QuotaReading {
  if (completionsSince <= 0) return reading;
  const out: QuotaReading = { ...reading };
  for (const w of ["fiveHour", "weekly"] as const) {
    const window: QuotaWindow | undefined = reading[w];
    const r = rate[w];
    if (window === undefined || r === undefined || r <= 0) continue;
    out[w] = { ...window, percentage: Math.min(100, window.percentage + r * completionsSince) };
  }
  return out;
}
