import type { Random } from "../util/random.js";

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform draw in [0, min(max, base·2^(n-1))].
 * `attempt` counts from 1. Pure given `random`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: Random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
