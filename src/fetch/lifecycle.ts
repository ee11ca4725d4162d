import type { ApiKey } from "../config/keys.js";
import { DEFAULT_MODEL_LIMITS, type ProviderId, type Settings } from "../config/schema.js";
import type { SlotLedger } from "../ledger/ledger.js";
import type { Notifier } from "../notify/notifier.js";
import { Foresight, type ForesightDeps, type Turn } from "../quota/foresight.js";
import type { Usage } from "./usage-tap.js";
import { KeyPool } from "../pool/key-pool.js";
import { emptyPoolState, type PoolState } from "../pool/pool-state.js";
import { NoCandidatesError, QueueTimeoutError } from "../scheduler/errors.js";
import { Limits, type LimitChange } from "../scheduler/limits.js";
import { Scheduler, type Lease } from "../scheduler/scheduler.js";
import { abortReason, type Clock } from "../util/clock.js";
import { formatWait } from "../util/format.js";
import type { Random } from "../util/random.js";
import type { Redactor } from "../util/redact.js";
import type { Answers } from "./answers.js";
import { inspect, type Upstream } from "./inspect.js";
import { codingEndpoint, describe, outlook } from "./outlook.js";
import { react, type Reactions } from "./react.js";
import { withKey, type OutgoingRequest } from "./request.js";

/** Something the lifecycle did, for tests, the demo and logs. */
export type FetchEvent =
  | { type: "attempt"; attempt: number; keyId: string; account: string; model: string }
  | { type: "outcome"; attempt: number; keyId: string; account: string; model: string; status: number; verdict: string; code: string | undefined }
  | { type: "wait"; ms: number; reason: "backoff" | "cooldown" }
  | { type: "limit"; change: LimitChange };

export interface LifecycleDeps {
  provider: ProviderId;
  keys: readonly ApiKey[];
  settings: Settings;
  clock: Clock;
  random: Random;
  /** How the lifecycle itself sends (every attempt in 1.x; re-issues in 2.x). */
  fetch: typeof globalThis.fetch;
  notifier: Notifier;
  redactor: Redactor;
  answers: Answers;
  state?: PoolState;
  /** Where slots live and requests wait (src/ledger); this process only when not given. */
  ledger?: SlotLedger;
  onEvent?: (event: FetchEvent) => void;
  /**
   * Saves what was learned where other processes see it. Started after every change; awaited before answering a
   * request that changed something, so it must never wait for a lock held elsewhere. Must not reject.
   */
  persist?: () => Promise<void>;
  /** Reads the quota endpoint (issue 12); without it no account's quota is read. */
  quotaFetch?: typeof globalThis.fetch;
  /** Each new quota reading, to persist for `status`. */
  onQuota?: ForesightDeps["onQuota"];
  /** Where round-robin starts (see ForesightDeps); 0 when not given. */
  rotationStart?: number;
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

export interface Lifecycle {
  /** Waits for an account-wide slot and picks a key; or answers at once (nothing can serve, queue timeout). */
  start(request: OutgoingRequest): Promise<Start>;
  /** Examines what the upstream gave, reacts, re-issues with another key when that helps; what the caller gets. */
  finish(attempt: Attempt, upstream: Upstream): Promise<Response>;
  /** start, send, finish: the whole request (OpenCode 1.x's custom fetch). */
  run(request: OutgoingRequest): Promise<Response>;
  readonly pool: KeyPool;
  readonly scheduler: Scheduler;
  readonly limits: Limits;
  readonly foresight: Foresight;
}

/** Models not named in the body (e.g. GET /models) share one unlimited-in-practice lane. */
const NO_MODEL = "(none)";

/** One request across its attempts. */
interface Run {
  request: OutgoingRequest;
  model: string;
  order: number;
  budgetEnd: number;
  avoid: Set<string>;
  attempts: number;
  lastFailure: string;
  changed: boolean;
  turn: Turn;
}

interface HeldAttempt extends Attempt {
  readonly run: Run;
  readonly key: ApiKey;
  readonly lease: Lease;
}

export function createLifecycle(deps: LifecycleDeps): Lifecycle {
  const { settings, clock, random, notifier, answers } = deps;
  const emit = deps.onEvent ?? (() => {});
  const persist = deps.persist ?? (async () => {});
  const endpoint = codingEndpoint(deps.provider);
  const pool = new KeyPool(deps.keys, deps.state ?? emptyPoolState());
  const limits = new Limits(
    settings,
    (change) => {
      notifier.log("info", `learned limit ${change.account}/${change.model}: ${change.from} -> ${change.to} (${change.why})`, { ...change });
      emit({ type: "limit", change });
      void persist();
    },
    clock,
  );
  const scheduler = new Scheduler(clock, limits, { cancelGraceMs: settings.retry.cancelGraceMs, ledger: deps.ledger });
  const reactions: Reactions = { pool, scheduler, notifier, settings, clock, random, answers, endpoint, models: knownModels };
  const retry = settings.retry;
  const slots = { inFlight: (a: string, m: string) => scheduler.inFlight(a, m), cap: (a: string, m: string) => limits.cap(a, m), waiting: (m: string) => scheduler.waiting(m), wakeAt: (t: number) => scheduler.wakeAt(t) };
  const foresight = new Foresight({ pool, slots, settings, clock, quotaFetch: deps.quotaFetch, notifier, rotationStart: deps.rotationStart ?? 0, ...(deps.onQuota ? { onQuota: deps.onQuota } : {}) });
  const held = new WeakMap<Attempt, HeldAttempt>();
  let seq = 0;

  /** Models an account can be asked for: the known ones, less those it refused as not in its plan. */
  function knownModels(account: string): string[] {
    const now = clock.now();
    const names = new Set([...Object.keys(DEFAULT_MODEL_LIMITS), ...Object.keys(settings.models)]);
    return [...names].filter((m) => pool.blocker(account, m, now)?.kind !== "model-unavailable");
  }

  /** Until an attempt is ready to send, or the request must be answered now. */
  async function next(run: Run): Promise<Start> {
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
          notifier.toast("all-cooling", `${view.message}. Not waiting: retry.maxWaitMs is ${formatWait(retry.maxWaitMs)}.`, "error");
          return answer(answers.giveUp(403, "all_cooling", `${view.message}. Gave up at once instead of waiting ${formatWait(wait)}, as retry.maxWaitMs (${formatWait(retry.maxWaitMs)}) asks.`));
        }
        if (wait <= retry.maxCooldownWaitMs && view.until <= run.budgetEnd) {
          if (wait >= 5_000) notifier.toast("all-cooling", `${view.message}. Waiting ${formatWait(wait)} for the first one.`);
          emit({ type: "wait", ms: wait, reason: "cooldown" });
          await clock.sleep(wait, signal);
          continue;
        }
        notifier.toast("all-cooling", `${view.message}. Requests wait until the first one is free (set retry.maxWaitMs to fail fast instead).`);
        return answer(answers.retryLater("all_cooling", view.message, wait));
      }
      if (run.attempts >= retry.maxAttempts || now >= run.budgetEnd) {
        return answer(answers.retryLater("retries_exhausted", `gave up after ${run.attempts} attempts: ${run.lastFailure}`, nextChance(model)));
      }
      let lease: Lease;
      try {
        lease = await scheduler.acquire({ model, seq: run.order, candidates: () => foresight.candidates(run.turn, run.avoid), signal, timeoutMs: retry.maxQueueWaitMs });
      } catch (error) {
        if (error instanceof NoCandidatesError) continue;
        if (error instanceof QueueTimeoutError) {
          return answer(answers.retryLater("queue_timeout", `waited ${formatWait(error.waitedMs)} for a free ${model} slot; ${busyReport(model)}`, 1000));
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
      emit({ type: "attempt", attempt: run.attempts, keyId: key.id, account: key.account, model });
      const attempt: HeldAttempt = {
        run,
        key,
        lease,
        number: run.attempts,
        keyId: key.id,
        account: key.account,
        model,
        url: run.request.url,
        headers: withKey(new Headers(run.request.headers), key.apiKey),
        abandon: () => void lease.release("failed"),
      };
      held.set(attempt, attempt);
      return { kind: "send", attempt };
    }
  }

  function answer(response: Response): Start {
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
    const inspectDeps = { clock, pool, redactor: deps.redactor, answers };
    for (;;) {
      const tapped = attempt.key;
      const onUsage = (usage: Usage) => foresight.used(run.turn, tapped, usage);
      const examined = await inspect({ ...inspectDeps, onUsage }, attempt.lease, run.request.url, run.request.signal, upstream);
      const { key } = attempt;
      const verdict = examined.kind === "deliver" ? "ok" : examined.verdict.kind;
      const code = examined.kind === "failure" && "code" in examined.verdict ? examined.verdict.code : undefined;
      emit({ type: "outcome", attempt: attempt.number, keyId: key.id, account: key.account, model: run.model, status: examined.status, verdict, code });
      if (examined.kind === "deliver") {
        if (examined.status >= 200 && examined.status < 300) foresight.served(run.turn, key);
        return done(run, examined.response);
      }
      const failure = examined.verdict;
      run.lastFailure = `${key.id}: ${examined.status || "network"} ${code ?? ""} ${"message" in failure ? failure.message : ""}`.replace(/\s+/g, " ").trim();
      const step = react(reactions, { verdict: failure, key, model: run.model, url: run.request.url, attempt: run.attempts, avoid: run.avoid, limitLowered: examined.release.limitLowered });
      run.changed = true;
      void persist();
      if (step.kind === "return") return done(run, step.response);
      if (step.delayMs > 0) {
        if (clock.now() + step.delayMs > run.budgetEnd) {
          return done(run, answers.retryLater("retries_exhausted", `gave up after ${run.attempts} attempts (time budget spent): ${run.lastFailure}`, step.delayMs));
        }
        emit({ type: "wait", ms: step.delayMs, reason: "backoff" });
        await clock.sleep(step.delayMs, run.request.signal);
      }
      const started = await next(run);
      if (started.kind === "answer") return done(run, started.response);
      attempt = held.get(started.attempt)!;
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
    return { request, model, order: seq++, budgetEnd: clock.now() + retry.budgetMs, avoid: new Set(), attempts: 0, lastFailure: "", changed: false, turn };
  }

  /** How long until something changes for `model`: 1 s while an account can serve, else the earliest end of a cooldown or hold. */
  function nextChance(model: string): number {
    const now = clock.now();
    if (pool.usableAccounts(model, now).length > 0) return 1000;
    const untils = pool.blockers(model, now).flatMap((b) => ("until" in b ? [b.until - now] : []));
    return Math.max(1000, untils.length > 0 ? Math.min(...untils) : 1000);
  }

  function busyReport(model: string): string {
    const now = clock.now();
    return pool.accounts
      .map((a) => {
        const blocker = pool.blocker(a, model, now);
        return blocker ? describe([blocker], now) : `${a}: ${scheduler.inFlight(a, model)}/${limits.limit(a, model)} in flight`;
      })
      .join("; ");
  }

  return {
    start: (request) => next(begin(request)),
    finish,
    async run(request) {
      const started = await next(begin(request));
      if (started.kind === "answer") return started.response;
      const attempt = held.get(started.attempt)!;
      return finish(attempt, await send(attempt));
    },
    pool,
    scheduler,
    limits,
    foresight,
  };
}
