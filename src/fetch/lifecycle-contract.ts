/** The request loop's contract: what it works on, what it hands out, what it tells (src/fetch/lifecycle.ts). */
import type { ApiKey } from "../config/keys.js";
import type { ProviderId, Settings } from "../config/schema.js";
import type { Lease, Leases } from "../leases/leases.js";
import type { LimitChange, Limits } from "../limits/limits.js";
import type { Notifier } from "../notify/notifier.js";
import type { KeyPool } from "../pool/key-pool.js";
import type { Foresight, Turn } from "../routing/foresight.js";
import type { Clock } from "../util/clock.js";
import type { Random } from "../util/random.js";
import type { Redactor } from "../util/redact.js";
import type { Answers } from "./answers.js";
import type { Examined, Upstream } from "./inspect.js";
import type { OutgoingRequest } from "./request.js";

/** Something the lifecycle did, for tests, the demo and logs. */
export type FetchEvent =
  | { type: "attempt"; attempt: number; keyId: string; account: string; model: string }
  | {
      type: "outcome";
      attempt: number;
      keyId: string;
      account: string;
      model: string;
      status: number;
      verdict: string;
      code: string | undefined;
    }
  | { type: "wait"; ms: number; reason: "backoff" | "cooldown" }
  | { type: "limit"; change: LimitChange };

/** What the request loop works on: built once per engine (src/engine/core.ts), shared by every request. */
export interface Core {
  readonly pool: KeyPool;
  readonly limits: Limits;
  readonly leases: Leases;
  readonly foresight: Foresight;
  /** Stops the core's timers (wake-ups, cancel graces, quota reads). */
  close(): void;
}

export interface LifecycleDeps {
  provider: ProviderId;
  core: Core;
  settings: Settings;
  clock: Clock;
  random: Random;
  /** How the lifecycle itself sends (every attempt in 1.x; re-issues in 2.x). */
  fetch: typeof globalThis.fetch;
  notifier: Notifier;
  redactor: Redactor;
  answers: Answers;
  onEvent?: (event: FetchEvent) => void;
  /**
   * Saves what was learned where other processes see it. Started after every change; awaited before answering a
   * request that changed something, so it must never wait for a lock held elsewhere. Must not reject.
   */
  persist?: () => Promise<void>;
}

/** One try of a request: a held slot, a chosen key, headers that carry it. Owned by the lifecycle. */
export interface Attempt {
  readonly number: number;
  readonly keyId: string;
  readonly account: string;
  readonly model: string;
  readonly url: string;
  /** The request's headers with `authorization: Bearer <key>`. */
  readonly headers: Headers;
  /** The host lost the attempt (no answer will come): frees its slot as failed. Idempotent. */
  abandon(): void;
}

export type Start = { kind: "send"; attempt: Attempt } | { kind: "answer"; response: Response };
export type HeldStart = { kind: "send"; attempt: HeldAttempt } | { kind: "answer"; response: Response };

export interface Lifecycle {
  /** Waits for an account-wide slot and picks a key; or answers at once (nothing can serve, queue timeout). */
  start(request: OutgoingRequest): Promise<Start>;
  /** Examines what the upstream gave, reacts, re-issues with another key when that helps; what the caller gets. */
  finish(attempt: Attempt, upstream: Upstream): Promise<Response>;
  /** start, send, finish: the whole request (OpenCode 1.x's custom fetch). */
  run(request: OutgoingRequest): Promise<Response>;
}

/** Models not named in the body (e.g. GET /models) share one unlimited-in-practice lane. */
export const NO_MODEL = "(none)";

/** One request across its attempts. */
export interface Run {
  request: OutgoingRequest;
  model: string;
  order: number;
  /** When it first arrived: its place among the waiters of every process, kept across retries. */
  arrivedAt: number;
  budgetEnd: number;
  avoid: Set<string>;
  attempts: number;
  lastFailure: string;
  changed: boolean;
  turn: Turn;
  /** Usable accounts for this request, best first (re-read at every dispatch). */
  candidates: () => string[];
}

export interface HeldAttempt extends Attempt {
  readonly run: Run;
  readonly key: ApiKey;
  readonly lease: Lease;
}

/** The `outcome` event of an examined attempt. */
export function outcomeEvent(emit: (event: FetchEvent) => void, attempt: HeldAttempt, examined: Examined): void {
  const { key, run } = attempt;
  const verdict = examined.kind === "deliver" ? "ok" : examined.verdict.kind;
  const code = examined.kind === "failure" && "code" in examined.verdict ? examined.verdict.code : undefined;
  emit({
    type: "outcome",
    attempt: attempt.number,
    keyId: key.id,
    account: key.account,
    model: run.model,
    status: examined.status,
    verdict,
    code,
  });
}
