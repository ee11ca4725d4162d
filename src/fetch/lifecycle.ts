import { DEFAULT_MODEL_LIMITS } from "../config/schema.js";
import { NoCandidatesError, QueueTimeoutError } from "../ledger/errors.js";
import type { Lease } from "../leases/leases.js";
import { abortReason } from "../util/clock.js";
import { formatWait } from "../util/format.js";
import { inspect, type InspectDeps, type Upstream } from "./inspect.js";
import {
  NO_MODEL,
  outcomeEvent,
  type Attempt,
  type HeldAttempt,
  type HeldStart,
  type Lifecycle,
  type LifecycleDeps,
  type Run,
} from "./lifecycle-contract.js";
import { busyReport, codingEndpoint, nextChance, outlook } from "./outlook.js";
import { react, type Reactions } from "./react.js";
import { withKey, type OutgoingRequest } from "./request.js";
import type { Usage } from "./usage-tap.js";

export type { Attempt, Core, FetchEvent, Lifecycle, LifecycleDeps, Start } from "./lifecycle-contract.js";

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
              `${view.message}. Gave up at once instead of waiting ${formatWait(wait)}, ` +
                `as retry.maxWaitMs (${formatWait(retry.maxWaitMs)}) asks.`,
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
              `waited ${formatWait(error.waitedMs)} for a free ${model} slot; ` +
                busyReport(pool, slotsOf, model, clock.now()),
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
