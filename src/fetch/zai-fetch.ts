import { classify, classifyNetworkError } from "../classify/classify.js";
import { parseUpstreamError, type UpstreamError } from "../classify/parse.js";
import type { Verdict } from "../classify/verdict.js";
import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import { KeyPool } from "../pool/key-pool.js";
import { emptyPoolState, type PoolState } from "../pool/pool-state.js";
import { backoffDelay } from "../retry/backoff.js";
import { parseRetryAfter } from "../retry/retry-after.js";
import { NoCandidatesError, QueueTimeoutError } from "../scheduler/errors.js";
import { Limits, type LimitChange } from "../scheduler/limits.js";
import { Scheduler, type Lease } from "../scheduler/scheduler.js";
import { abortReason, type Clock } from "../util/clock.js";
import { formatLocalTime, formatWait } from "../util/format.js";
import type { Random } from "../util/random.js";
import type { Notifier } from "../notify/notifier.js";
import { giveUp, rebuilt, retryLater } from "./answers.js";
import { quotable } from "./opencode-retry.js";
import { describe, outlook } from "./outlook.js";
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
}

/** Models not named in the body (e.g. GET /models) share one unlimited-in-practice lane. */
const NO_MODEL = "(none)";
/** 1308/1310 without a readable reset stamp: look again after this long. */
const UNSTATED_RESET_MS = 15 * 60_000;
/** A reset stamp already past (clock skew, drift): look again after this long. */
const STALE_RESET_MS = 60_000;

export interface ZaiFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly pool: KeyPool;
  readonly scheduler: Scheduler;
  readonly limits: Limits;
}

/** Builds the fetch OpenCode calls: picks a key, holds a slot, classifies the answer, retries or explains. */
export function createZaiFetch(deps: ZaiFetchDeps): ZaiFetch {
  const { settings, clock, random, notifier } = deps;
  const emit = deps.onEvent ?? (() => {});
  const pool = new KeyPool(deps.keys, deps.state ?? emptyPoolState());
  const limits = new Limits(settings, (change) => {
    notifier.log("info", `learned limit ${change.account}/${change.model}: ${change.from} -> ${change.to} (${change.why})`, { ...change });
    emit({ type: "limit", change });
  });
  const scheduler = new Scheduler(clock, limits);
  const retry = settings.retry;
  const cursors = new Map<string, number>();
  const decoder = new TextDecoder();
  let seq = 0;

  /** Usable accounts for `model` in the order the strategy prefers; accounts in `avoid` go last. */
  function candidates(model: string, avoid: ReadonlySet<string>): string[] {
    const usable = pool.usableAccounts(model, clock.now());
    let ordered = usable;
    if (settings.rotation.strategy === "round-robin" && usable.length > 1) {
      const start = (cursors.get(model) ?? 0) % usable.length;
      ordered = [...usable.slice(start), ...usable.slice(0, start)];
    }
    if (avoid.size === 0) return ordered;
    return [...ordered.filter((a) => !avoid.has(a)), ...ordered.filter((a) => avoid.has(a))];
  }

  function advanceCursor(model: string, account: string): void {
    const usable = pool.usableAccounts(model, clock.now());
    cursors.set(model, usable.indexOf(account) + 1);
  }

  const zaiFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = await normalizeRequest(input, init);
    const model = request.model ?? NO_MODEL;
    const { signal } = request;
    const order = seq++;
    const budgetEnd = clock.now() + retry.budgetMs;
    const avoid = new Set<string>();
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
          candidates: () => candidates(model, avoid),
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
      advanceCursor(model, lease.account);
      const key = pool.nextKey(lease.account, clock.now());
      if (!key) {
        lease.release("other");
        continue;
      }
      attempt++;
      emit({ type: "attempt", attempt, keyId: key.id, account: key.account, model });
      const result = await send(request, key, lease);
      emit({ type: "outcome", attempt, keyId: key.id, account: key.account, model, status: result.status, verdict: result.verdict.kind, code: codeOf(result.verdict) });
      if (result.response) return result.response;
      const verdict = result.verdict;
      lastFailure = `${key.id}: ${result.status || "network"} ${codeOf(verdict) ?? ""} ${messageOf(verdict)}`.replace(/\s+/g, " ").trim();
      const step = react(verdict, key, model, request, attempt, avoid, result.limitLowered === true);
      if (step.kind === "return") return step.response;
      if (step.delayMs > 0) {
        if (clock.now() + step.delayMs > budgetEnd) {
          return retryLater("retries_exhausted", `gave up after ${attempt} attempts (time budget spent): ${lastFailure}`, step.delayMs);
        }
        emit({ type: "wait", ms: step.delayMs, reason: "backoff" });
        await clock.sleep(step.delayMs, signal);
      }
    }
  };

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

  type Step = { kind: "retry"; delayMs: number } | { kind: "return"; response: Response };
  type SendResult = { status: number; verdict: Verdict; response?: Response; limitLowered?: boolean };

  /** What a failed attempt changes in the pool, and whether to retry. The "what happens on a 1302" place. */
  function react(verdict: Verdict, key: ApiKey, model: string, request: OutgoingRequest, attempt: number, avoid: Set<string>, limitLowered: boolean): Step {
    const now = clock.now();
    const account = key.account;
    const backoff = () => backoffDelay(attempt, retry, random);
    switch (verdict.kind) {
      case "ok":
      case "pass":
        return { kind: "retry", delayMs: 0 };
      case "key-invalid":
        pool.disableKey(key.id, `rejected (${verdict.code ?? "401"})`, verdict.code, now);
        notifier.toast("key-disabled", `Key "${key.label}" was rejected by Z.AI (${verdict.code ?? "401"}: ${verdict.message || "invalid"}); it is disabled until OpenCode restarts.`);
        return { kind: "retry", delayMs: 0 };
      case "account-unusable":
        pool.disableAccount(account, `${verdict.code}: ${verdict.message}`, verdict.code, now);
        notifier.toast("account-disabled", `Account "${account}" is unusable (${verdict.code}: ${verdict.message}); its keys are disabled until OpenCode restarts.`, "error");
        return { kind: "retry", delayMs: 0 };
      case "concurrency": {
        // The lowered limit already keeps this account below what Z.AI refused. When it was not lowered (already
        // at what is in flight, or someone else is using the account), hold the account back for a moment.
        if (!limitLowered) {
          const until = now + Math.max(100, backoff());
          pool.hold(account, model, until);
          scheduler.wakeAt(until);
        }
        return { kind: "retry", delayMs: 0 };
      }
      case "transient": {
        avoid.add(account);
        const delay = verdict.retryAfterMs ?? backoff();
        if (verdict.accountWide) {
          pool.hold(account, model, now + delay);
          scheduler.wakeAt(now + delay);
        }
        const elsewhere = pool.usableAccounts(model, now).some((a) => !avoid.has(a) && scheduler.hasFreeSlot(a, model));
        return { kind: "retry", delayMs: elsewhere ? 0 : delay };
      }
      case "key-rate-limited": {
        const until = now + (verdict.retryAfterMs ?? settings.rotation.cooldownMs);
        pool.coolKey(key.id, { until, reason: "rate limited (429)", code: verdict.code });
        scheduler.wakeAt(until);
        return { kind: "retry", delayMs: 0 };
      }
      case "usage-window": {
        const stated = verdict.resetAt;
        const until = stated === undefined ? now + UNSTATED_RESET_MS : stated > now ? stated : now + STALE_RESET_MS;
        const what = verdict.code === "1310" ? "weekly/monthly limit" : "5-hour usage window";
        pool.coolAccount(account, { until, reason: `${what} spent`, code: verdict.code });
        scheduler.wakeAt(until);
        notifier.toast("usage-window", `Account "${account}" used up its ${what} (${verdict.code}); it resets at ${formatLocalTime(until, now)} (in ${formatWait(until - now)}). Other accounts serve meanwhile.`);
        return { kind: "retry", delayMs: 0 };
      }
      case "model-unavailable":
        pool.markUnavailable(account, model, verdict.code, verdict.wrongEndpoint, now + settings.unavailableRecheckMs);
        notifier.toast(
          "model-unavailable",
          verdict.wrongEndpoint
            ? `Z.AI answered ${verdict.code} "Insufficient balance" on ${request.url}: Coding Plan keys need the coding endpoint (.../api/coding/paas/v4).`
            : `${model} is not in the plan of account "${account}" (${verdict.code}); other accounts will serve it.`,
        );
        return { kind: "retry", delayMs: 0 };
      case "fatal":
        return { kind: "return", response: fatal(verdict, model) };
      default:
        return verdict satisfies never;
    }
  }

  function fatal(verdict: Extract<Verdict, { kind: "fatal" }>, model: string): Response {
    if (verdict.reason === "unknown-model") {
      if (verdict.code !== "1211") {
        const said = quotable(verdict.message);
        return giveUp(400, verdict.code, `Z.AI refused the request (${verdict.code})${said ? `: ${said}` : "."}`);
      }
      return giveUp(400, "1211", `Z.AI does not know the model "${model}" (1211 Unknown Model). Check the model id: \`opencode models zai-coding-plan\` lists the ones OpenCode knows.`);
    }
    notifier.toast("account-disabled", `Z.AI flagged usage under its Fair Usage Policy (1313). The plugin does not retry or switch accounts to get around it.`, "error");
    const said = quotable(verdict.message);
    return giveUp(403, "1313", `Z.AI throttled this request under its Fair Usage Policy (1313${said ? `: ${said}` : ""}). Not retried and not moved to another account: doing so deepens the violation. Reduce parallel agents and wait before continuing.`);
  }

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

  return Object.assign(zaiFetch, { pool, scheduler, limits });
}

function codeOf(verdict: Verdict): string | undefined {
  return "code" in verdict ? verdict.code : undefined;
}

function messageOf(verdict: Verdict): string {
  return "message" in verdict ? verdict.message : "";
}
