import type { ApiKey } from "../config/keys.js";
import { DEFAULT_MODEL_LIMITS, type ProviderId, type Settings } from "../config/schema.js";
import type { Notifier } from "../notify/notifier.js";
import type { Foresight, Turn } from "../routing/foresight.js";
import type { KeyPool } from "../pool/key-pool.js";
import type { Usage } from "./usage-tap.js";
import { NoCandidatesError, QueueTimeoutError } from "../ledger/errors.js";
import type { Leases, Lease } from "../leases/leases.js";
import type { LimitChange, Limits } from "../limits/limits.js";
import { abortReason, type Clock } from "../util/clock.js";
import { formatWait } from "../util/format.js";
import type { Random } from "../util/random.js";
import type { Redactor } from "../util/redact.js";
import type { Answers } from "./answers.js";
import { inspect, type Examined, type InspectDeps, type Upstream } from "./inspect.js";
import { busyReport, codingEndpoint, nextChance, outlook } from "./outlook.js";
import { react, type Reactions } from "./react.js";
import { withKey, type OutgoingRequest } from "./request.js";

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
type HeldStart = { kind: "send"; attempt: HeldAttempt } | { kind: "answer"; response: Response };

export interface Lifecycle {
  /** Waits for an account-wide slot and picks a key; or answers at once (nothing can serve, queue timeout). */
  start(request: OutgoingRequest): Promise<Start>;
  /** Examines what the upstream gave, reacts, re-issues with another key when that helps; what the caller gets. */
  finish(attempt: Attempt, upstream: Upstream): Promise<Response>;
  /** start, send, finish: the whole request (OpenCode 1.x's custom fetch). */
  run(request: OutgoingRequest): Promise<Response>;
}

/** Models not named in the body (e.g. GET /models) share one unlimited-in-practice lane. */
const NO_MODEL = "(none)";

/** One request across its attempts. */
interface Run {
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

interface HeldAttempt extends Attempt {
  readonly run: Run;
  readonly key: ApiKey;
  readonly lease: Lease;
}

/**
 * The request loop: wait for a slot, pick a key, send, examine the answer, react (outcomes.ts says how), retry or
 * answer. Works on the engine's core; holds no state of its own but the requests under way.
 */
export function createLifecycle(deps: LifecycleDeps): Lifecycle {
  const { settings, clock, random, notifier, answers } = deps;
  const { pool, limits, leases, foresight } = deps.core;
  const emit = deps.onEvent;
  const persist = deps.persist ?? (async () => {});
  const endpoint = codingEndpoint(deps.provider);
  const reactions: Reactions = {
    pool,
    leases,
    notifier,
    settings,
    clock,
    random,
    answers,
    endpoint,
    models: knownModels,
  };
  const inspectDeps: InspectDeps = { clock, pool, redactor: deps.redactor, answers };
  const retry = settings.retry;
  const slotsOf = (account: string, model: string) =>
    `${leases.inFlight(account, model)}/${limits.limit(account, model)}`;
  const held = new WeakMap<Attempt, HeldAttempt>();
  let seq = 0;

  /** Models an account can be asked for: the known ones, less those it refused as not in its plan. */
  function knownModels(account: string): string[] {
    const now = clock.now();
    const names = new Set([...Object.keys(DEFAULT_MODEL_LIMITS), ...Object.keys(settings.models)]);
    return [...names].filter((m) => pool.blocker(account, m, now)?.kind !== "model-unavailable");
  }

  /** Until an attempt is ready to send, or the request must be answered now. */
  async function next(run: Run): Promise<HeldStart> {
    const { model } = run;
    const { signal } = run.request;
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const now = clock.now();
      pool.prune(now);
      if (pool.usableAccounts(model, now).length === 0) {
        const view = outlook(pool.blockers(model, now), model, now, endpoint);
        if (view.kind === "never") return answer(answers.giveUp(view.status, view.code, view.message));
        const wait = view.until - now;
        if (retry.maxWaitMs !== undefined && wait > retry.maxWaitMs) {
          notifier.toast(
            "all-cooling",
            `${view.message}. Not waiting: retry.maxWaitMs is ${formatWait(retry.maxWaitMs)}.`,
            "error",
          );
          return answer(
            answers.giveUp(
              403,
              "all_cooling",
              `${view.message}. Gave up at once instead of waiting ${formatWait(wait)}, as retry.maxWaitMs (${formatWait(retry.maxWaitMs)}) asks.`,
            ),
          );
        }
        if (wait <= retry.maxCooldownWaitMs && view.until <= run.budgetEnd) {
          if (wait >= 5_000)
            notifier.toast("all-cooling", `${view.message}. Waiting ${formatWait(wait)} for the first one.`);
          emit?.({ type: "wait", ms: wait, reason: "cooldown" });
          await clock.sleep(wait, signal);
          continue;
        }
        notifier.toast(
          "all-cooling",
          `${view.message}. Requests wait until the first one is free (set retry.maxWaitMs to fail fast instead).`,
        );
        return answer(answers.retryLater("all_cooling", view.message, wait));
      }
      if (run.attempts >= retry.maxAttempts || now >= run.budgetEnd) {
        return answer(
          answers.retryLater(
            "retries_exhausted",
            `gave up after ${run.attempts} attempts: ${run.lastFailure}`,
            nextChance(pool, model, clock.now()),
          ),
        );
      }
      let lease: Lease;
      try {
        lease = await leases.acquire({
          model,
          seq: run.order,
          at: run.arrivedAt,
          candidates: run.candidates,
          signal,
          timeoutMs: retry.maxQueueWaitMs,
        });
      } catch (error) {
        if (error instanceof NoCandidatesError) continue;
        if (error instanceof QueueTimeoutError) {
          return answer(
            answers.retryLater(
              "queue_timeout",
              `waited ${formatWait(error.waitedMs)} for a free ${model} slot; ${busyReport(pool, slotsOf, model, clock.now())}`,
              1000,
            ),
          );
        }
        throw error;
      }
      foresight.leased(run.turn, lease.account);
      const key = foresight.keyFor(run.turn, lease.account) ?? pool.nextKey(lease.account, clock.now());
      if (!key) {
        lease.release("failed");
        continue;
      }
      run.attempts++;
      emit?.({ type: "attempt", attempt: run.attempts, keyId: key.id, account: key.account, model });
      const attempt: HeldAttempt = {
        run,
        key,
        lease,
        number: run.attempts,
        keyId: key.id,
        account: key.account,
        model,
        url: run.request.url,
        // The request's own headers: its attempts run one after another.
        headers: withKey(run.request.headers, key.apiKey),
        abandon: () => void lease.release("failed"),
      };
      held.set(attempt, attempt);
      return { kind: "send", attempt };
    }
  }

  function answer(response: Response): HeldStart {
    return { kind: "answer", response };
  }

  async function send(attempt: HeldAttempt): Promise<Upstream> {
    const { request } = attempt.run;
    try {
      return await deps.fetch(request.url, {
        ...request.rest,
        method: request.method,
        headers: attempt.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      return { error };
    }
  }

  async function finish(given: Attempt, first: Upstream): Promise<Response> {
    let attempt = held.get(given);
    if (!attempt) throw new Error("finish() was given an attempt this lifecycle did not start");
    let upstream = first;
    const { run } = attempt;
    for (;;) {
      const tapped = attempt.key;
      const onUsage = (usage: Usage) => foresight.used(run.turn, tapped, usage);
      const examined = await inspect(
        { ...inspectDeps, onUsage },
        attempt.lease,
        run.request.url,
        run.request.signal,
        upstream,
      );
      const { key } = attempt;
      if (emit) outcomeEvent(emit, attempt, examined);
      if (examined.kind === "deliver") {
        if (examined.status >= 200 && examined.status < 300) foresight.served(run.turn, key);
        return done(run, examined.response);
      }
      const failure = examined.verdict;
      const code = "code" in failure ? failure.code : undefined;
      run.lastFailure =
        `${key.id}: ${examined.status || "network"} ${code ?? ""} ${"message" in failure ? failure.message : ""}`
          .replace(/\s+/g, " ")
          .trim();
      const step = react(reactions, {
        verdict: failure,
        key,
        model: run.model,
        url: run.request.url,
        attempt: run.attempts,
        avoid: run.avoid,
        limitLowered: examined.release.limitLowered,
      });
      run.changed = true;
      void persist();
      if (step.kind === "return") return done(run, step.response);
      if (step.delayMs > 0) {
        if (clock.now() + step.delayMs > run.budgetEnd) {
          return done(
            run,
            answers.retryLater(
              "retries_exhausted",
              `gave up after ${run.attempts} attempts (time budget spent): ${run.lastFailure}`,
              step.delayMs,
            ),
          );
        }
        emit?.({ type: "wait", ms: step.delayMs, reason: "backoff" });
        await clock.sleep(step.delayMs, run.request.signal);
      }
      const started = await next(run);
      if (started.kind === "answer") return done(run, started.response);
      attempt = started.attempt;
      upstream = await send(attempt);
    }
  }

  /**
   * Before answering a request that changed something, wait for the write (`opencode run` exits right after its
   * answer). `persist` never waits for the state file's lock: when another process holds it, the write is left to
   * the background (src/state/state-sync.ts syncSoon).
   */
  async function done(run: Run, response: Response): Promise<Response> {
    if (run.changed) await persist();
    return response;
  }

  function begin(request: OutgoingRequest): Run {
    const model = request.model ?? NO_MODEL;
    const turn = foresight.turn(request.url, request.headers, model);
    const avoid = new Set<string>();
    const run: Run = {
      request,
      model,
      order: seq++,
      arrivedAt: clock.now(),
      budgetEnd: clock.now() + retry.budgetMs,
      avoid,
      attempts: 0,
      lastFailure: "",
      changed: false,
      turn,
      candidates: () => foresight.candidates(turn, avoid),
    };
    return run;
  }

  return {
    start: (request) => next(begin(request)),
    finish,
    async run(request) {
      const started = await next(begin(request));
      if (started.kind === "answer") return started.response;
      return finish(started.attempt, await send(started.attempt));
    },
  };
}

function outcomeEvent(emit: (event: FetchEvent) => void, attempt: HeldAttempt, examined: Examined): void {
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
