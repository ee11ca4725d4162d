/**
 * The OpenCode 2.x adapter: `setup(ctx)` registers three session hooks per served provider over the shared engine.
 * Host behaviour it relies on (anomalyco/opencode; summarized in the shared host notes opencode-v2.md):
 * - packages/core/src/session/model-http.ts: `http.request` runs, the host sends whatever `event.request` is left,
 *   then `http.response` gets `{ request: <that same object>, response }` before any status check.
 * - packages/core/src/plugin/hooks.ts: `hook(name, cb, { providerID })` only fires for that provider.
 * - packages/plugin/src/promise/adapter.ts: a rejected callback is a defect that fails the user's turn, so every
 *   callback here catches everything and leaves the event as it was.
 * - packages/ai/src/route/executor.ts: a failed response's record keeps the request's headers (older revisions
 *   unredacted), so the host is never given a request that carries a key (see `stub` below).
 */
import type { ProviderId } from "../config/schema.js";
import { retryLater } from "../fetch/answers.js";
import type { Clock } from "../util/clock.js";
import { redact } from "../util/redact.js";
import type { V2Context, V2HttpRequestEvent, V2HttpResponseEvent, V2Plugin, V2RetryEvent, V2Registration, V2SessionHook } from "./opencode-v2-types.js";
import { forHost, RetryNotes } from "./v2-answers.js";
import { parseV2Options, type V2Options } from "./v2-options.js";
import { Parking } from "./v2-parking.js";

/** The engine for one provider, as the adapter uses it: the 1.x fetch semantics on a web Request. */
export interface V2Engine {
  run(request: Request): Promise<Response>;
}

export type V2LogLevel = "info" | "warn" | "error";

export interface V2Deps {
  clock: Clock;
  /** The shared engine for (provider, keys file); the same one every instance and the 1.x adapter get. */
  engine(provider: ProviderId, options: V2Options): Promise<V2Engine>;
  log(level: V2LogLevel, message: string): void;
}

/**
 * The request the host sends in place of the real one: no key, no network. The engine has already made the
 * upstream call(s) with real keys; its answer is substituted in `http.response`. A fresh object per request,
 * because it is the WeakMap key that links the two hooks.
 */
export function stubRequest(): Request {
  return new Request("data:application/json,%7B%7D", { method: "GET" });
}

/** Builds the 2.x `setup` for an entry whose default providers are `defaultProviders` (`options.providers` overrides). */
export function createV2Setup(defaultProviders: readonly ProviderId[], deps: V2Deps): V2Plugin["setup"] {
  return async (ctx: V2Context) => {
    const session = ctx.session;
    // 1.18.x calls setup too, with a reduced context and no session (opencode-v2.md section 8): its own
    // loader already ran `server()`, so nothing is started here.
    if (!session || typeof session.hook !== "function") return;
    let options: V2Options;
    try {
      options = parseV2Options(ctx.options, defaultProviders);
    } catch (error) {
      deps.log("error", `oc-zai-multi-account: ${errorText(error)}; the plugin is inactive`);
      return;
    }
    const hook: V2SessionHook = (name, callback, filter) => session.hook!(name, callback, filter);
    const registrations: V2Registration[] = [];
    for (const provider of options.providers) registrations.push(...(await registerProvider(hook, provider, options, deps)));
    return async () => {
      for (const registration of registrations) await registration.dispose().catch(() => {});
    };
  };
}

async function registerProvider(hook: V2SessionHook, provider: ProviderId, options: V2Options, deps: V2Deps): Promise<V2Registration[]> {
  const { clock, log } = deps;
  const parking = new Parking(clock, options.leaseTtlMs, (what) =>
    log("warn", `${provider}: an answer was ${what === "unclaimed" ? "never collected by http.response" : "never read"}; cancelled, its slot is free`),
  );
  const notes = new RetryNotes();
  let engine: Promise<V2Engine> | undefined;
  const filter = { providerID: provider };
  const guard = <E>(name: string, body: (event: E) => Promise<void>) => async (event: E) => {
    try {
      await body(event);
    } catch (error) {
      log("error", `${provider}: ${name} hook failed, request left as it was: ${errorText(error)}`);
    }
  };

  const onRequest = guard<V2HttpRequestEvent>("http.request", async (event) => {
    engine ??= deps.engine(provider, options);
    const current = await engine;
    const original = event.request;
    const bytes = original.method === "GET" || original.method === "HEAD" ? undefined : await original.clone().arrayBuffer();
    const controller = new AbortController();
    const stop = clock.setTimer(() => controller.abort(new Error("request budget spent")), options.requestBudgetMs);
    let answer: Response;
    try {
      answer = await current.run(
        new Request(original.url, {
          method: original.method,
          headers: original.headers,
          ...(bytes === undefined ? {} : { body: bytes }),
          signal: controller.signal,
        }),
      );
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      // Bounded below the host's 300 s header timeout (packages/ai/src/schema/options.ts): time will fix it.
      answer = retryLater("queue_timeout", `no ${event.model.id} answer within ${Math.round(options.requestBudgetMs / 1000)} s (all slots busy or cooling); try again shortly`, 1000);
    } finally {
      stop();
    }
    const stub = stubRequest();
    parking.park(stub, answer);
    event.request = stub;
  });

  const onResponse = guard<V2HttpResponseEvent>("http.response", async (event) => {
    const parked = parking.claim(event.request);
    if (!parked) return; // not a request this instance answered (e.g. its http.request failed): leave it
    await event.response.body?.cancel().catch(() => {}); // the stub's own answer
    const shown = forHost(parked);
    notes.set(RetryNotes.key(event.sessionID, event.model.providerID, event.model.id), shown.note);
    event.response = shown.response;
  });

  const onRetry = guard<V2RetryEvent>("retry", async (event) => {
    const note = notes.take(RetryNotes.key(event.sessionID, event.model.providerID, event.model.id));
    if (!note) return;
    if (note.final) event.decision = { retry: false };
    else if (event.decision.retry) event.decision = { retry: true, delay: note.delayMs };
  });

  return [await hook("http.request", onRequest, filter), await hook("http.response", onResponse, filter), await hook("retry", onRetry, filter)];
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redact(text, []);
}

