import type { Redactor } from "../util/redact.js";

/**
 * The answers the plugin itself gives back to its host. Two kinds, by what fixes them:
 * time (429 with retry-after-ms, so the host's retry waits exactly as long as needed) or nothing
 * (a 4xx no host revision retries: not 402, 405, 408, 409 or 429, plus `x-should-retry: false`), each with a
 * message naming the cause. Every answer passes the engine's redactor: no key can leave through one.
 */

export const MESSAGE_PREFIX = "[oc-zai-multi-account]";
/** Header naming the plugin's error code on every answer it built (hosts and tests read it). */
export const CODE_HEADER = "x-zai-multi-account";

export type PluginErrorCode =
  | "all_cooling"
  | "queue_timeout"
  | "retries_exhausted"
  | "no_usable_keys"
  | "model_unavailable"
  | "config_invalid"
  | "upstream_unusable"
  | "1211"
  | "1313";

export type FinalStatus = 400 | 401 | 403 | 404 | 422;

export interface Answers {
  /** Time will fix it: 429 with the real remaining wait. */
  retryLater(code: PluginErrorCode, message: string, waitMs: number): Response;
  /** Nothing will fix it by retrying. */
  giveUp(status: FinalStatus, code: PluginErrorCode | string, message: string): Response;
  /** A pass-through of an upstream answer whose body was already read (redacted: upstreams echo keys). */
  rebuilt(response: Response, text: string): Response;
}

export function createAnswers(redactor: Redactor): Answers {
  const json = (status: number, code: string, message: string, headers: Record<string, string>) => {
    const body = JSON.stringify({
      error: { code, message: `${MESSAGE_PREFIX} ${redactor.redact(message)}`, type: "oc_zai_multi_account" },
    });
    return new Response(body, {
      status,
      headers: { "content-type": "application/json", [CODE_HEADER]: code, ...headers },
    });
  };
  return {
    retryLater(code, message, waitMs) {
      const ms = Math.max(0, Math.ceil(waitMs));
      return json(429, code, message, {
        "retry-after-ms": String(ms),
        "retry-after": String(Math.ceil(ms / 1000)),
        "x-should-retry": "true",
      });
    },
    giveUp(status, code, message) {
      return json(status, code, message, { "x-should-retry": "false" });
    },
    rebuilt(response, text) {
      const headers = new Headers(response.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      headers.delete("transfer-encoding");
      return new Response(redactor.redact(text), { status: response.status, statusText: response.statusText, headers });
    },
  };
}
