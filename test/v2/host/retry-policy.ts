/**
 * The 2.x retry schedule (packages/core/src/session/runner/retry.ts; opencode-v2.md section 4).
 * - later (@opencode revisions): exponential from 2 s, jittered x0.8-1.2, each gap capped at 10 s, at most 10 retries.
 * - older (@092a1e7d): 4 retries, uncapped exponential.
 * The provider's delay (retry-after-ms / retry-after) is a floor for RateLimit and ProviderInternal only, capped at 15 min.
 * Then the `retry` hook may set the decision either way or change the delay; a non-finite or negative delay falls
 * back to the policy's.
 */
import type { HostError, Revision } from "./provider-error.js";
import { isRetryable } from "./provider-error.js";

export const PROVIDER_DELAY_CAP_MS = 15 * 60_000;

export type Decision = { retry: false } | { retry: true; delay: number };

/** `attempt` counts retries already made (0 before the first retry). `random` in [0, 1). */
export function proposeRetry(revision: Revision, error: HostError, attempt: number, random: () => number): Decision {
  const maxRetries = revision === "later" ? 10 : 4;
  if (!isRetryable(error) || attempt >= maxRetries) return { retry: false };
  const exponential = 2000 * 2 ** attempt;
  const policy = (revision === "later" ? Math.min(exponential, 10_000) : exponential) * (0.8 + 0.4 * random());
  const floor =
    (error.cls === "RateLimit" || error.cls === "ProviderInternal") && error.retryAfterMs !== undefined
      ? Math.min(error.retryAfterMs, PROVIDER_DELAY_CAP_MS)
      : 0;
  return { retry: true, delay: Math.max(policy, floor) };
}

/** What the host does with the decision a `retry` callback left. */
export function settleDecision(proposed: Decision, after: Decision): Decision {
  if (!after.retry) return after;
  if (!Number.isFinite(after.delay) || after.delay < 0)
    return { retry: true, delay: proposed.retry ? proposed.delay : 0 };
  return after;
}
