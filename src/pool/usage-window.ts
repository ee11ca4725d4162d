import type { Notifier } from "../notify/notifier.js";
import { formatLocalTime, formatWait } from "../util/format.js";
import type { KeyPool } from "./key-pool.js";

export interface UsageWindowDeps {
  pool: KeyPool;
  notifier: Notifier;
  /** Wakes waiting requests when the window resets (the account takes them again). */
  wakeAt(time: number): void;
}

/**
 * An account's usage window is spent (Z.AI answered 1308/1310, or the quota endpoint reads 100%): the account cools
 * until the window resets, waiters wake then, and the user is told. `source` names where it was read when not from
 * the code in an answer ("quota endpoint: 100%").
 */
export function coolUsageWindow(
  deps: UsageWindowDeps,
  account: string,
  code: string,
  until: number,
  now: number,
  source?: string,
): void {
  const what = code === "1310" ? "weekly/monthly limit" : "5-hour usage window";
  deps.pool.coolAccount(account, { until, reason: `${what} spent${source ? ` (${source})` : ""}`, code });
  deps.wakeAt(until);
  const when = `it resets at ${formatLocalTime(until, now)} (in ${formatWait(until - now)})`;
  deps.notifier.toast(
    "usage-window",
    `Account "${account}" used up its ${what} (${source ?? code}); ${when}. Other accounts serve meanwhile.`,
  );
}
