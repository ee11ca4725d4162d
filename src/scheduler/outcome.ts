/**
 * How a held slot ends, and what each ending does: the one table for slot hand-off and limit learning.
 * (What a verdict does to keys, accounts and retries is react.ts; which verdict an answer is, classify.ts.)
 */
export type LeaseOutcome =
  /** The response was read to its end: Z.AI served it. */
  | "completed"
  /** Z.AI answered 1302 (as HTTP status or inside a 200 stream): the request was over the account's limit. */
  | "refused"
  /** The caller aborted or cancelled the body: Z.AI notices the closed connection a moment later. */
  | "cancelled"
  /** Anything else: network error, another business code, a broken body. */
  | "failed";

export interface OutcomeEffect {
  /** What the learned limit hears about it. */
  learn: "completed" | "refused" | "nothing";
  /** Keep the slot taken for the cancel grace before handing it on (else hand it on at once). */
  grace: boolean;
}

export const OUTCOME_EFFECTS: Readonly<Record<LeaseOutcome, OutcomeEffect>> = {
  completed: { learn: "completed", grace: false },
  refused: { learn: "refused", grace: false },
  cancelled: { learn: "nothing", grace: true },
  failed: { learn: "nothing", grace: false },
};

/**
 * A 1302 on a slot granted this soon after a cancelled stream freed a slot of the same pair can be Z.AI still
 * counting the cancelled stream: it does not lower the learned limit (the account is held back briefly instead).
 */
export function explainedByCancel(grantedAt: number, lastCancelFreedAt: number | undefined, graceMs: number): boolean {
  if (lastCancelFreedAt === undefined) return false;
  return grantedAt - lastCancelFreedAt <= Math.max(1_000, graceMs * 4);
}
