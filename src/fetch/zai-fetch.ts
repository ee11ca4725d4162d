import { classify, classifyNetworkError } from "../classify/classify.js";
import { parseUpstreamError, type UpstreamError } from "../classify/parse.js";
import type { Verdict } from "../classify/verdict.js";
import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import { KeyPool } from "../pool/key-pool.js";
import { emptyPoolState, type PoolState } from "../pool/pool-state.js";
import { parseRetryAfter } from "../retry/retry-after.js";
import { NoCandidatesError, QueueTimeoutError } from "../scheduler/errors.js";
import { Limits, type LimitChange } from "../scheduler/limits.js";
import { Scheduler, type Lease } from "../scheduler/scheduler.js";
import { abortReason, type Clock } from "../util/clock.js";
import { formatWait } from "../util/format.js";
import type { Random } from "../util/random.js";
import type { Notifier } from "../notify/notifier.js";
import { Foresight, type ForesightDeps } from "../quota/foresight.js";
import { giveUp, rebuilt, retryLater } from "./answers.js";
import { describe, outlook } from "./outlook.js";
import { react, type Reactions } from "./react.js";
import { releasingBody } from "./release-on-end.js";
import { normalizeRequest, withKey, type OutgoingRequest } from "./request.js";
import { peekFirstEvent } from "./sse-peek.js";

/** Something the fetch did, for tests, the demo and logs. */
export type FetchEvent =
  | { type: "attempt"; attempt: number; keyId: string; account: string; model: string }
  | { type: "outcome"; attempt: number; keyId: string; account: string; model: string; status: number; verdict: Verdict["kind"]; code: string | undefined }
  | { type: "wait"; ms: number; reason: "backoff" | "cooldown" }
  | { type: "limit"; change: LimitChange };

export interface ZaiFetchDeps {
  keys: readonly ApiKey[];
  settings: Settings;
  clock: Clock;
  random: Random;
  fetch: typeof globalThis.fetch;
  notifier: Notifier;
  state?: PoolState;
  onEvent?: (event: FetchEvent) => void;
  /**
   * Saves what was learned (cooldowns, disabled keys, unavailable models, limits) where other processes see it.
   * Started after every change; awaited before answering a request that changed something, so a short-lived
   * `opencode run` does not exit before it is written. Must not reject.
   */
  persist?: () => Promise<void>;
  /** Reads the quota endpoint (issue 12); without it no account's quota is read. */
  quotaFetch?: typeof globalThis.fetch;
  /** Each new quota reading, to persist for `status`. */
  onQuota?: ForesightDeps["onQuota"];
}

/** Models not named in the body (e.g. GET /models) share one unlimited-in-practice lane. */
const NO_MODEL = "(none)";

export interface ZaiFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly pool: KeyPool;
  readonly scheduler: Scheduler;
  readonly limits: Limits;
  readonly foresight: Foresight;
}

/** Builds the fetch OpenCode calls: picks a key, holds a slot, classifies the answer, retries or explains. */
export function createZaiFetch(deps: ZaiFetchDeps): ZaiFetch {
  const { settings, clock, random, notifier } = deps;
  const emit = deps.onEvent ?? (() => {});
  const persist = deps.persist ?? (async () => {});
  const pool = new KeyPool(deps.keys, deps.state ?? emptyPoolState());
  const limits = new Limits(settings, (change) => {
    notifier.log("info", `learned limit ${change.account}/${change.model}: ${change.from} -> ${change.to} (${change.why})`, { ...change });
    emit({ type: "limit", change });
    void persist();
  });
  const scheduler = new Scheduler(clock, limits);
  const reactions: Reactions = { pool, scheduler, notifier, settings, clock, random };
  const retry = settings.retry;
  const foresight = new Foresight({ pool, slots: { inFlight: (a, m) => scheduler.inFlight(a, m), cap: (a, m) => limits.cap(a, m), waiting: (m) => scheduler.waiting(m), wakeAt: (t) => scheduler.wakeAt(t) }, settings, clock, quotaFetch: deps.quotaFetch, notifier, ...(deps.onQuota ? { onQuota: deps.onQuota } : {}) });
  const decoder = new TextDecoder();
  let seq = 0;

  const zaiFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const outcome = { changed: false };
    const response = await handle(await normalizeRequest(input, init), outcome);
    if (outcome.changed) await persist();
    return response;
  };

  async function handle(request: OutgoingRequest, outcome: { changed: boolean }): Promise<Response> {
    const model = request.model ?? NO_MODEL;
    const { signal } = request;
    const order = seq++;
    const budgetEnd = clock.now() + retry.budgetMs;
    const avoid = new Set<string>();
    const turn = foresight.turn(request.url, request.headers, model);
    let attempt = 0;
    let lastFailure = "";

    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const now = clock.now();
      pool.prune(now);
      if (pool.usableAccounts(model, now).length === 0) {
        const view = outlook(pool.blockers(model, now), model, now);
        if (view.kind === "never") return giveUp(view.status, view.code, view.message);
        const wait = view.until - now;
        if (wait <= retry.maxCooldownWaitMs && view.until <= budgetEnd) {
          emit({ type: "wait", ms: wait, reason: "cooldown" });
          await clock.sleep(wait, signal);
          continue;
        }
        notifier.toast("all-cooling", `${view.message}. OpenCode will retry when the first one is free.`);
        return retryLater("all_cooling", view.message, wait);
      }
      if (attempt >= retry.maxAttempts || clock.now() >= budgetEnd) {
        return retryLater("retries_exhausted", `gave up after ${attempt} attempts: ${lastFailure}`, nextChance(model));
      }

      let lease: Lease;
      try {
        lease = await scheduler.acquire({
          model,
          seq: order,
          candidates: () => foresight.candidates(turn, avoid),
          signal,
          timeoutMs: retry.maxQueueWaitMs,
        });
      } catch (error) {
        if (error instanceof NoCandidatesError) continue;
        if (error instanceof QueueTimeoutError) {
          return retryLater("queue_timeout", `waited ${formatWait(error.waitedMs)} for a free ${model} slot; ${busyReport(model)}`, 1000);
        }
        throw error;
      }
      foresight.leased(turn, lease.account);
      const key = foresight.keyFor(turn, lease.account) ?? pool.nextKey(lease.account, clock.now());
      if (!key) {
        lease.release("other");
        continue;
      }
      attempt++;
      emit({ type: "attempt", attempt, keyId: key.id, account: key.account, model });
      const result = await send(request, key, lease);
      emit({ type: "outcome", attempt, keyId: key.id, account: key.account, model, status: result.status, verdict: result.verdict.kind, code: codeOf(result.verdict) });
      if (result.response) {
        if (result.verdict.kind === "ok") foresight.served(turn, key);
        return result.response;
      }
      const verdict = result.verdict;
      lastFailure = `${key.id}: ${result.status || "network"} ${codeOf(verdict) ?? ""} ${messageOf(verdict)}`.replace(/\s+/g, " ").trim();
      const step = react(reactions, { verdict, key, model, url: request.url, attempt, avoid, limitLowered: result.limitLowered === true });
      outcome.changed = true;
      void persist();
      if (step.kind === "return") return step.response;
      if (step.delayMs > 0) {
        if (clock.now() + step.delayMs > budgetEnd) {
          return retryLater("retries_exhausted", `gave up after ${attempt} attempts (time budget spent): ${lastFailure}`, step.delayMs);
        }
        emit({ type: "wait", ms: step.delayMs, reason: "backoff" });
        await clock.sleep(step.delayMs, signal);
      }
    }
  }

  /** One upstream call on a held slot. Returns a response to hand back, or a verdict to react to. */
  async function send(request: OutgoingRequest, key: ApiKey, lease: Lease): Promise<SendResult> {
    let response: Response;
    try {
      response = await deps.fetch(request.url, {
        ...request.rest,
        method: request.method,
        headers: withKey(request.headers, key.apiKey),
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      lease.release("other");
      if (request.signal?.aborted) throw abortReason(request.signal);
      return { status: 0, verdict: classifyNetworkError(error) };
    }
    const now = clock.now();
    if (response.ok) {
      const isStream = (response.headers.get("content-type") ?? "").includes("text/event-stream");
      if (isStream && response.body) {
        let peek;
        try {
          peek = await peekFirstEvent(response.body, decoder);
        } catch (error) {
          lease.release("other");
          if (request.signal?.aborted) throw abortReason(request.signal);
          return { status: 0, verdict: classifyNetworkError(error) };
        }
        if (peek.kind === "error") {
          lease.release("other");
          return { status: response.status, verdict: streamVerdict(peek.error, request.url) };
        }
        lease.admitted();
        pool.markServed(lease.account, lease.model);
        return { status: response.status, verdict: { kind: "ok" }, response: respond(response, peek.chunks, peek.reader, lease, request.signal) };
      }
      lease.admitted();
      pool.markServed(lease.account, lease.model);
      if (!response.body) {
        lease.release("completed");
        return { status: response.status, verdict: { kind: "ok" }, response };
      }
      return { status: response.status, verdict: { kind: "ok" }, response: respond(response, [], response.body.getReader(), lease, request.signal) };
    }
    let text = "";
    try {
      text = await response.text();
    } catch {
      // a body cut short still has a status to classify
    }
    const parsed = parseUpstreamError(text);
    const verdict = classify({ ...parsed, status: response.status, retryAfterMs: parseRetryAfter(response.headers, now), url: request.url });
    if (verdict.kind === "concurrency") {
      const before = limits.limit(lease.account, lease.model);
      lease.release("refused");
      return { status: response.status, verdict, limitLowered: limits.limit(lease.account, lease.model) < before };
    }
    lease.release("other");
    if (verdict.kind === "pass") return { status: response.status, verdict, response: rebuilt(response, text) };
    return { status: response.status, verdict };
  }

  function respond(upstream: Response, head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>, lease: Lease, signal: AbortSignal | undefined): Response {
    const body = releasingBody(head, reader, (outcome) => lease.release(outcome), signal);
    let headers = upstream.headers;
    if (headers.has("content-encoding") || headers.has("content-length")) {
      // The body is handed on decoded: its original encoding and length no longer describe it.
      headers = new Headers(headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
    }
    return new Response(body, { status: upstream.status, statusText: upstream.statusText, headers });
  }

  /** An error inside a 200 stream: known codes follow the table; unknown ones are caller errors unless they name none. */
  function streamVerdict(error: UpstreamError, url: string): Verdict {
    const verdict = classify({ ...error, status: error.code === undefined ? 500 : 200, retryAfterMs: undefined, url });
    if (verdict.kind === "ok") return { kind: "fatal", code: error.code ?? "stream_error", message: error.message, reason: "unknown-model" };
    return verdict;
  }

  type SendResult = { status: number; verdict: Verdict; response?: Response; limitLowered?: boolean };

  /** How long until something changes for `model`: the earliest end of a cooldown or hold, else 1 s. */
  function nextChance(model: string): number {
    const now = clock.now();
    const untils = pool.blockers(model, now).flatMap((b) => ("until" in b ? [b.until - now] : []));
    return Math.max(1000, untils.length > 0 ? Math.min(...untils) : 1000);
  }

  function busyReport(model: string): string {
    const now = clock.now();
    const parts = pool.accounts.map((a) => {
      const blocker = pool.blocker(a, model, now);
      if (blocker) return describe([blocker], now);
      return `${a}: ${scheduler.inFlight(a, model)}/${limits.limit(a, model)} in flight`;
    });
    return parts.join("; ");
  }

  return Object.assign(zaiFetch, { pool, scheduler, limits, foresight });
}

function codeOf(verdict: Verdict): string | undefined {
  return "code" in verdict ? verdict.code : undefined;
}

function messageOf(verdict: Verdict): string {
  return "message" in verdict ? verdict.message : "";
}
