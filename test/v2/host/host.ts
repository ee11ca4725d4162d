/**
 * A model of the OpenCode 2.x host around one model request, built from the host's source (anomalyco/opencode),
 * as summarized in the shared host notes (opencode-v2.md sections 1-5):
 * 1. The route builds `POST {baseURL}/chat/completions` and applies auth last: `authorization: Bearer <credential>`
 *    (packages/ai/src/providers/zai-coding-plan.ts, packages/ai/src/route/auth.ts).
 * 2. If any http.request/http.response hook is registered for the provider (hooks.ts `has`), the middleware runs
 *    (packages/core/src/session/model-http.ts): `http.request`, then the host's own fetch of whatever `event.request`
 *    is (body re-read from a clone), then `http.response` with `request` = that same object and the unread body.
 * 3. The header timeout (packages/ai/src/schema/options.ts, 300 000 ms) covers 2 including waits inside hooks.
 * 4. status >= 400: body read as text, classified (provider-error.ts), recorded with the request's headers
 *    (executor.ts `HttpContext`); status < 400: the body is read as SSE.
 * 5. Retry (runner/retry.ts): policy proposal, then the `retry` hook, then a wait on the clock (RetryScheduled).
 * A rejected hook is a defect: the step fails with no classification and no retry (runner/step.ts `failCause`).
 */
import type { Clock } from "../../../src/util/clock.js";
import { fullContext } from "./context.js";
import { HookDefect, HookRegistry } from "./hooks.js";
import type { Decoded } from "./load.js";
import { classifyResponse, type HostError, type Revision } from "./provider-error.js";
import { proposeRetry, settleDecision, type Decision } from "./retry-policy.js";
import { readChatStream } from "./sse.js";

export const HEADER_TIMEOUT_MS = 300_000;

export interface TurnInput {
  baseURL: string;
  /** The stored credential the host puts in Authorization (a placeholder for this plugin). */
  credential: string;
  model?: string;
  providerID?: string;
  sessionID?: string;
  /** A subagent's parent session: the headers then carry it as 2.x does (affinity = parentID ?? id). */
  parentSessionID?: string;
  kind?: "primary" | "title";
  /** Model an interruption (user abort / header timeout) right after `http.request` on this attempt (1-based). */
  interruptAfterRequestHookOn?: number;
}

export interface TurnResult {
  ok: boolean;
  text: string;
  error: { type: string; message: string; status: number | undefined } | undefined;
  defect: string | undefined;
  interrupted: boolean;
  attempts: number;
  /** Delays of the retries the host scheduled (RetryScheduled). */
  retries: number[];
  /** What the `retry` hook was shown and left, per failed attempt. */
  decisions: Array<{ proposed: Decision; final: Decision; cls: string }>;
}

/** What the host keeps about requests: every request it sent and every failure record (executor.ts HttpContext). */
export interface HostRecords {
  sent: Array<{ method: string; url: string; headers: Record<string, string> }>;
  failures: Array<{
    request: { method: string; url: string; headers: Record<string, string> };
    response: { status: number; headers: Record<string, string> };
    body: string;
    message: string;
  }>;
}

class Interrupted extends Error {}
class HeaderTimeout extends Error {}

export class V2Host {
  readonly hooks = new HookRegistry();
  readonly records: HostRecords = { sent: [], failures: [] };
  private cleanup: (() => Promise<void> | void) | undefined;

  constructor(
    private readonly opts: { revision: Revision; clock: Clock; random?: () => number; headerTimeoutMs?: number },
  ) {}

  /** Runs the decoded plugin's `setup` once with a full context (one instance per location). */
  async load(plugin: Decoded, options: Record<string, unknown> = {}, directory?: string): Promise<void> {
    if (plugin.kind !== "setup") throw new Error("effect plugins are not modelled");
    const ctx = fullContext({ hooks: this.hooks, options, ...(directory ? { directory } : {}) });
    const result = await plugin.setup(ctx);
    if (typeof result === "function") this.cleanup = result as () => Promise<void> | void;
  }

  async unload(): Promise<void> {
    await this.cleanup?.();
  }

  async turn(input: TurnInput): Promise<TurnResult> {
    const { clock } = this.opts;
    const model = { id: input.model ?? "glm-4.7", providerID: input.providerID ?? "zai-coding-plan" };
    const common = { sessionID: input.sessionID ?? "ses_1", agent: "build", model, kind: input.kind ?? "primary" };
    const result: TurnResult = {
      ok: false,
      text: "",
      error: undefined,
      defect: undefined,
      interrupted: false,
      attempts: 0,
      retries: [],
      decisions: [],
    };
    for (;;) {
      result.attempts++;
      let outcome: { error: HostError } | { text: string };
      try {
        const exchanged = await this.withHeaderTimeout(() => this.exchange(input, common, result.attempts));
        outcome = await this.read(exchanged);
      } catch (error) {
        if (error instanceof HookDefect) {
          result.defect = error.message;
          return result;
        }
        if (error instanceof Interrupted) {
          result.interrupted = true;
          return result;
        }
        const timeout = error instanceof HeaderTimeout;
        outcome = {
          error: {
            cls: "Transport",
            message: timeout ? "HTTP transport timed out" : String(error),
            status: undefined,
            retryAfterMs: undefined,
            shouldRetry: timeout && this.opts.revision === "later" ? false : undefined,
          },
        };
      }
      if ("text" in outcome) {
        result.ok = true;
        result.text = outcome.text;
        return result;
      }
      const error = outcome.error;
      result.error = { type: error.cls, message: error.message, status: error.status };
      const proposed = proposeRetry(this.opts.revision, error, result.retries.length, this.opts.random ?? (() => 0.5));
      let final: Decision = proposed;
      try {
        const event = await this.hooks.trigger("retry", {
          ...common,
          error: result.error,
          attempt: result.retries.length + 1,
          decision: proposed,
        });
        final = settleDecision(proposed, event.decision);
      } catch (e) {
        result.defect = e instanceof Error ? e.message : String(e);
        return result;
      }
      result.decisions.push({ proposed, final, cls: error.cls });
      if (!final.retry) return result;
      result.retries.push(final.delay);
      await clock.sleep(final.delay);
    }
  }

  private async exchange(
    input: TurnInput,
    common: { sessionID: string; agent: string; model: { id: string; providerID: string }; kind: string },
    n: number,
  ) {
    const request = new Request(`${input.baseURL}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "opencode/2.0.24",
        authorization: `Bearer ${input.credential}`,
        ...sessionHeaders(common.sessionID, input.parentSessionID),
      },
      body: JSON.stringify({ model: common.model.id, messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    const pid = common.model.providerID;
    const middleware = this.hooks.has("http.request", pid) || this.hooks.has("http.response", pid);
    let sent = request;
    if (middleware) sent = (await this.hooks.trigger("http.request", { ...common, request })).request;
    if (input.interruptAfterRequestHookOn === n) throw new Interrupted();
    const bytes = sent.body ? new Uint8Array(await sent.clone().arrayBuffer()) : undefined;
    const headers = Object.fromEntries(sent.headers);
    this.records.sent.push({ method: sent.method, url: sent.url, headers });
    const upstream = await fetch(sent.url, {
      method: sent.method,
      headers: sent.headers,
      ...(bytes ? { body: bytes } : {}),
    });
    let response = new Response([204, 205, 304].includes(upstream.status) ? null : upstream.body, {
      status: upstream.status,
      headers: upstream.headers,
    });
    if (middleware)
      response = (await this.hooks.trigger("http.response", { ...common, request: sent, response })).response;
    return { response, sent, headers };
  }

  /** After the header timeout's scope: the body of an error, or the stream. */
  private async read({
    response,
    sent,
    headers,
  }: {
    response: Response;
    sent: Request;
    headers: Record<string, string>;
  }): Promise<{ error: HostError } | { text: string }> {
    if (response.status >= 400) {
      const body = await response.text().catch(() => "");
      const error = classifyResponse(
        this.opts.revision,
        response.status,
        response.headers,
        body,
        this.opts.clock.now(),
      );
      this.records.failures.push({
        request: { method: sent.method, url: sent.url, headers },
        response: { status: response.status, headers: Object.fromEntries(response.headers) },
        body,
        message: error.message,
      });
      return { error };
    }
    const read = await readChatStream(response.body);
    if (read.error) {
      // A provider error event inside a 200 stream fails the step; it is not retried (runner/step.ts).
      return {
        error: {
          cls: "UnknownProvider" as const,
          message: read.error.message,
          status: undefined,
          retryAfterMs: undefined,
          shouldRetry: false,
        },
      };
    }
    return { text: read.text };
  }

  private withHeaderTimeout<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancel = this.opts.clock.setTimer(
        () => reject(new HeaderTimeout()),
        this.opts.headerTimeoutMs ?? HEADER_TIMEOUT_MS,
      );
      run().then(
        (value) => {
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }
}

/** The session headers 2.x sends (anomalyco/opencode packages/core/src/session/model-request.ts). */
export function sessionHeaders(id: string, parent: string | undefined): Record<string, string> {
  const affinity = parent ?? id;
  return {
    "x-opencode-session-id": id,
    ...(parent ? { "x-opencode-parent-session-id": parent } : {}),
    "x-session-affinity": affinity,
    "X-Session-Id": affinity,
    ...(parent ? { "x-parent-session-id": parent } : {}),
    "x-opencode-session": affinity,
  };
}
