/**
 * The OpenCode 2.x adapter: `setup(ctx)` registers three session hooks per served provider over the process's
 * engine (the same one the 1.x adapter, src/hosts/opencode-v1.ts, uses). Host behaviour it relies on
 * (anomalyco/opencode; summarized in the shared host notes opencode-v2.md):
 * - packages/core/src/session/model-http.ts: `http.request` runs, the host sends whatever `event.request` is left,
 *   then `http.response` gets `{ request: <that same object>, response }` before any status check.
 * - packages/core/src/plugin/hooks.ts: `hook(name, cb, { providerID })` only fires for that provider.
 * - packages/plugin/src/promise/adapter.ts: a rejected callback is a defect that fails the user's turn, so every
 *   callback here catches everything, logs it, and leaves the event as it was.
 * - packages/core/src/session/runner/retry.ts: the `retry` hook sees the policy's decision and may change it.
 */
import type { ConfigIO } from "../config/load.js";
import type { ProviderId } from "../config/schema.js";
import type { ReadyEngine } from "../engine/engine.js";
import type { EngineRegistry } from "../engine/registry.js";
import type { Attempt, Start } from "../fetch/lifecycle.js";
import { normalizeRequest } from "../fetch/request.js";
import type { Clock } from "../util/clock.js";
import type { Random } from "../util/random.js";
import { engineFor } from "../engine/for-host.js";
import type {
  V2Context,
  V2HttpRequestEvent,
  V2HttpResponseEvent,
  V2Plugin,
  V2Registration,
  V2RetryEvent,
  V2SessionHook,
} from "./opencode-v2-types.js";
import { forHost, RetryNotes } from "./v2-answers.js";
import { Budget } from "./v2-budget.js";
import { parseV2Options, UNREAD_TTL_MS, type V2Options } from "./v2-options.js";
import { guardUnread, Parking } from "./v2-parking.js";

export type V2LogLevel = "info" | "warn" | "error";

export interface V2Deps {
  clock: Clock;
  random: Random;
  /** How the engine sends upstream (all attempts with transport "plugin", re-issues with "host"). */
  fetch: typeof globalThis.fetch;
  /** Shared with the 1.x adapter: one engine per provider and keys file in the process. */
  registry: EngineRegistry;
  /** Configuration access for an entry's options (its `keysFile` wins over ZAI_KEYS_FILE). */
  io(options: V2Options): ConfigIO;
  log(level: V2LogLevel, message: string): void;
}

/** What `http.request` left for `http.response`: an answer to substitute, or an attempt the host is sending. */
type Parked =
  | { kind: "answer"; response: Response }
  | { kind: "attempt"; engine: ReadyEngine; attempt: Attempt; budget: Budget };

/**
 * The request the host sends when the engine answers by itself: no key, no network. A fresh object per request,
 * because it is the WeakMap key that links the two hooks.
 */
export function stubRequest(): Request {
  return new Request("data:application/json,%7B%7D", { method: "GET" });
}

/**
 * Builds the 2.x `setup` for an entry whose default providers are `defaultProviders` (`options.providers` overrides).
 */
export function createV2Setup(defaultProviders: readonly ProviderId[], deps: V2Deps): V2Plugin["setup"] {
  return async (ctx: V2Context) => {
    const session = ctx.session;
    // 1.18.x calls setup too, with a reduced context and no session (opencode-v2.md section 8): its own loader
    // already runs `server()` on the same engine, so nothing is started here.
    if (!session || typeof session.hook !== "function") return;
    let options: V2Options;
    try {
      options = parseV2Options(ctx.options, defaultProviders);
    } catch (error) {
      deps.log("error", `${errorText(error)}; the plugin is inactive`);
      return;
    }
    const hook: V2SessionHook = (name, callback, filter) => session.hook!(name, callback, filter);
    const registrations: V2Registration[] = [];
    for (const provider of options.providers)
      registrations.push(...(await registerProvider(hook, provider, options, deps)));
    return async () => {
      for (const registration of registrations) await registration.dispose().catch(() => {});
    };
  };
}

async function registerProvider(
  hook: V2SessionHook,
  provider: ProviderId,
  options: V2Options,
  deps: V2Deps,
): Promise<V2Registration[]> {
  const { clock, log } = deps;
  const parking = new Parking<Parked>(clock, options.leaseTtlMs);
  const notes = new RetryNotes();
  const sink = {
    toast: ({ message, variant }: { message: string; variant: string }) =>
      log(variant === "error" ? "error" : "warn", message),
    log: ({ level, message }: { level: string; message: string }) =>
      log(level === "error" || level === "warn" ? level : "info", message),
  };
  const engine = () =>
    engineFor(
      deps.registry,
      provider,
      { clock, random: deps.random, fetch: deps.fetch, io: deps.io(options), sink },
      undefined,
    );
  const reclaimed = (what: string) => log("warn", `${provider}: ${what}; dropped, its slot is free`);
  const guard =
    <E>(name: string, body: (event: E) => Promise<void>) =>
    async (event: E) => {
      try {
        await body(event);
      } catch (error) {
        log("error", `${provider}: ${name} hook failed, event left as it was: ${errorText(error)}`);
      }
    };
  const answerWith = (event: V2HttpRequestEvent, response: Response) => {
    const stub = stubRequest();
    parking.park(stub, { kind: "answer", response }, () => {
      reclaimed("an answer was never collected by http.response");
      response.body?.cancel().catch(() => {});
    });
    event.request = stub;
  };

  const onRequest = guard<V2HttpRequestEvent>("http.request", async (event) => {
    const current = await engine();
    if (current.kind === "refused") return answerWith(event, current.refusal());
    const { lifecycle } = current;
    const budget = new Budget(clock, options.requestBudgetMs);
    const outgoing = await normalizeRequest(event.request.clone(), { signal: budget.signal });
    const late = () =>
      current.answers.retryLater(
        "queue_timeout",
        `no ${event.model.id} answer within ${Math.round(options.requestBudgetMs / 1000)} s (slots busy or ` +
          "accounts cooling); try again shortly",
        1000,
      );
    if (options.transport === "plugin") {
      // The engine sends with real keys (and retries); the host only ever sends the keyless stub.
      let answer: Response;
      try {
        answer = await lifecycle
          .run(outgoing)
          .catch((error: unknown) => (budget.expired ? late() : Promise.reject(error)));
      } finally {
        budget.stop();
      }
      return answerWith(event, answer);
    }
    let started: Start;
    try {
      started = await lifecycle
        .start(outgoing)
        .catch((error: unknown) =>
          budget.expired ? { kind: "answer" as const, response: late() } : Promise.reject(error),
        );
    } catch (error) {
      budget.stop();
      throw error;
    }
    if (started.kind === "answer") {
      budget.stop();
      return answerWith(event, started.response);
    }
    const { attempt } = started;
    const sent = new Request(attempt.url, {
      method: outgoing.method,
      headers: attempt.headers,
      ...(outgoing.body === undefined ? {} : { body: outgoing.body }),
    });
    parking.park(sent, { kind: "attempt", engine: current, attempt, budget }, () => {
      reclaimed("an attempt never reached http.response");
      budget.stop();
      attempt.abandon();
    });
    event.request = sent;
  });

  const onResponse = guard<V2HttpResponseEvent>("http.response", async (event) => {
    const parked = parking.claim(event.request);
    if (!parked) return; // not a request this instance took (e.g. its http.request failed): leave it
    let response: Response;
    if (parked.kind === "answer") {
      await event.response.body?.cancel().catch(() => {}); // the stub's own answer
      response = parked.response;
    } else {
      const { engine: current, attempt, budget } = parked;
      try {
        response = await current.lifecycle.finish(attempt, event.response);
      } catch (error) {
        attempt.abandon();
        if (!budget.expired) throw error;
        response = current.answers.retryLater(
          "queue_timeout",
          `no ${event.model.id} answer within ${Math.round(options.requestBudgetMs / 1000)} s; try again shortly`,
          1000,
        );
      } finally {
        budget.stop();
      }
    }
    const shown = forHost(response);
    notes.set(RetryNotes.key(event.sessionID, event.model.providerID, event.model.id), shown.note);
    event.response = guardUnread(shown.response, clock, Math.min(options.leaseTtlMs, UNREAD_TTL_MS), () =>
      reclaimed("an answer handed to the host was never read"),
    );
  });

  const onRetry = guard<V2RetryEvent>("retry", async (event) => {
    const note = notes.take(RetryNotes.key(event.sessionID, event.model.providerID, event.model.id));
    if (!note) return;
    if (note.final) event.decision = { retry: false };
    else if (event.decision.retry) event.decision = { retry: true, delay: note.delayMs };
  });

  const filter = { providerID: provider };
  return [
    await hook("http.request", onRequest, filter),
    await hook("http.response", onResponse, filter),
    await hook("retry", onRetry, filter),
  ];
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
