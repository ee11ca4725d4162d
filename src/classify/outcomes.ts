import type { VerdictKind } from "./verdict.js";

/**
 * What happens on each upstream outcome: the one table. For every verdict (which Z.AI answers give it: the `codes`
 * and `statuses` columns, decided by classify.ts), what happens to the attempt's slot and through it the learned
 * limit, to the key, to the account, and to the caller. fetch/inspect.ts reads the answer and ends the slot as the
 * `lease` column says; fetch/react.ts applies the other columns. Left elsewhere on purpose: how much a limit moves
 * (scheduler/adaptive-limit.ts) and the wording of toasts and answers (react.ts, answers.ts).
 */

/** How a held slot ends. */
export type LeaseOutcome = "completed" | "refused" | "cancelled" | "failed";

/** What happens to the account. */
export type AccountAction =
  | "keep"
  /** Disabled for 24 h in every process (`status --reset` clears it). */
  | "disable"
  /** Cooled until the usage window's stated reset (15 min when none is stated, 1 min when it is already past). */
  | "cool-until-reset"
  /**
   * Held back for max(100 ms, backoff) on the model, but only when the 1302 did not lower the learned limit (the
   * lower limit already keeps the account below what Z.AI refused; not lowered means the limit was at what was in
   * flight, someone else uses the account, or a cancelled stream explained it).
   */
  | "hold-unless-limit-lowered"
  /** Held back on the model for Retry-After or the backoff when the code is account-wide (1303). */
  | "hold-if-account-wide"
  /** The (account, model) pair is marked unavailable until `unavailableRecheckMs`; other accounts serve. */
  | "mark-model-unavailable";

/** What the caller sees. */
export type CallerAction =
  /** The answer as Z.AI gave it (streams stream; error bodies redacted). */
  | "deliver"
  /** Retried at once on whatever account has a free slot. */
  | "retry-now"
  /** Retried, preferring other accounts: at once when one has a free slot, else after Retry-After or the backoff. */
  | "retry-elsewhere"
  /** Answered now with the plugin's own error (no retry, no other account). */
  | "answer";

export interface OutcomeRule {
  /** Z.AI business codes read as this verdict (in an error body or inside a 200 stream or JSON body). */
  codes: readonly string[];
  /** HTTP statuses and other answers read as this verdict when no known code says otherwise. */
  statuses: string;
  /** How the slot ends; LEASE_ENDINGS says what that teaches the limit. */
  lease: Exclude<LeaseOutcome, "cancelled">;
  key: "keep" | "disable" | "cool";
  account: AccountAction;
  caller: CallerAction;
}

export const OUTCOMES: Readonly<Record<VerdictKind, OutcomeRule>> = {
  ok: { codes: [], statuses: "2xx, 3xx", lease: "completed", key: "keep", account: "keep", caller: "deliver" },
  pass: {
    codes: [],
    statuses: "other 4xx (1210, 1214, 1261, 1301, ...)",
    lease: "failed",
    key: "keep",
    account: "keep",
    caller: "deliver",
  },
  "key-invalid": {
    codes: ["1000", "1001", "1002", "1003", "1004"],
    statuses: "401",
    lease: "failed",
    key: "disable",
    account: "keep",
    caller: "retry-now",
  },
  "account-unusable": {
    codes: ["1110", "1111", "1112", "1120", "1121", "1309"],
    statuses: "",
    lease: "failed",
    key: "keep",
    account: "disable",
    caller: "retry-now",
  },
  concurrency: {
    codes: ["1302"],
    statuses: "",
    lease: "refused",
    key: "keep",
    account: "hold-unless-limit-lowered",
    caller: "retry-now",
  },
  transient: {
    codes: ["1303", "1305", "1234"],
    statuses: "5xx, network errors, bodies cut short, HTML pages, unknown errors inside a stream",
    lease: "failed",
    key: "keep",
    account: "hold-if-account-wide",
    caller: "retry-elsewhere",
  },
  "key-rate-limited": {
    codes: [],
    statuses: "429 naming no known code",
    lease: "failed",
    key: "cool",
    account: "keep",
    caller: "retry-now",
  },
  "usage-window": {
    codes: ["1308", "1310"],
    statuses: "",
    lease: "failed",
    key: "keep",
    account: "cool-until-reset",
    caller: "retry-now",
  },
  "model-unavailable": {
    codes: ["1113", "1311"],
    statuses: "",
    lease: "failed",
    key: "keep",
    account: "mark-model-unavailable",
    caller: "retry-now",
  },
  fatal: { codes: ["1211", "1313"], statuses: "", lease: "failed", key: "keep", account: "keep", caller: "answer" },
};

export interface LeaseEnding {
  /** What the learned limit hears: a completion may raise it, a refusal lowers it (unless explained by a cancel). */
  learn: "completed" | "refused" | "nothing";
  /** Keep the slot taken for the cancel grace before handing it on (else hand it on at once). */
  grace: boolean;
}

/** How a slot ends, and what each ending does to the limit and the slot (scheduler/leases.ts applies it). */
export const LEASE_ENDINGS: Readonly<Record<LeaseOutcome, LeaseEnding>> = {
  /** The response was read to its end: Z.AI served it. */
  completed: { learn: "completed", grace: false },
  /** Z.AI answered 1302 (as HTTP status or inside a 200 stream): the request was over the account's limit. */
  refused: { learn: "refused", grace: false },
  /** The caller aborted or cancelled the body: Z.AI notices the closed connection a moment later. */
  cancelled: { learn: "nothing", grace: true },
  /** Anything else: network error, another business code, a broken body. */
  failed: { learn: "nothing", grace: false },
};

/** How inspect.ts read a failed answer. */
export type AnswerRead =
  | "error-status"
  | "error-body-cut"
  | "stream-error-at-start"
  | "json-error"
  | "json-cut"
  | "html-page"
  | "no-answer";

/**
 * `closedEarly`: this side closed the connection before the answer's end, so Z.AI may still count the request until
 * it notices; the slot is then kept for the cancel grace, as after a cancel, whatever the verdict.
 */
export const CLOSED_EARLY: Readonly<Record<AnswerRead, boolean>> = {
  /** An error status whose body was read to its end. */
  "error-status": false,
  /**
   * An error status whose body broke off before its end (a reset, a proxy giving up): this side never saw the
   * answer end, so Z.AI may still be counting the request (the soak's truncated error bodies).
   */
  "error-body-cut": true,
  /** An error event at a stream's start: the peek cancelled the stream there, Z.AI may still be sending it. */
  "stream-error-at-start": true,
  /** An error inside a 200 JSON body read whole. */
  "json-error": false,
  /** A JSON body cut short by a reset: the connection is gone. */
  "json-cut": false,
  /** An HTML page instead of an API answer: its body is cancelled unread. */
  "html-page": true,
  /** No answer (the fetch threw, or the body broke while the peek read it). */
  "no-answer": false,
};

/**
 * A 1302 on a slot granted this soon after a cancelled stream freed a slot of the same pair can be Z.AI still
 * counting the cancelled stream: it does not lower the learned limit (the account is held back briefly instead).
 */
export function explainedByCancel(grantedAt: number, lastCancelFreedAt: number | undefined, graceMs: number): boolean {
  if (lastCancelFreedAt === undefined) return false;
  return grantedAt - lastCancelFreedAt <= Math.max(1_000, graceMs * 4);
}
