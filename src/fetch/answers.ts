/**
 * The answers the plugin itself gives back to OpenCode. Two kinds, by what fixes them:
 * time (429 with retry-after-ms, so OpenCode's retry waits exactly as long as needed) or nothing
 * (a 4xx OpenCode does not retry: not 408, 409 or 429), each with a message naming the cause.
 */

export const MESSAGE_PREFIX = "[oc-zai-multi-account]";

export type PluginErrorCode =
  | "all_cooling"
  | "queue_timeout"
  | "retries_exhausted"
  | "no_usable_keys"
  | "model_unavailable"
  | "config_invalid"
  | "1211"
  | "1313";

function json(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  const body = JSON.stringify({ error: { code, message: `${MESSAGE_PREFIX} ${message}`, type: "oc_zai_multi_account" } });
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", "x-zai-multi-account": code, ...headers },
  });
}

/** Time will fix it: 429 with the real remaining wait. */
export function retryLater(code: PluginErrorCode, message: string, waitMs: number): Response {
  const ms = Math.max(0, Math.ceil(waitMs));
  return json(429, code, message, { "retry-after-ms": String(ms), "retry-after": String(Math.ceil(ms / 1000)) });
}

/** Nothing will fix it by retrying. Status chosen so the AI SDK marks it non-retryable. */
export function giveUp(status: 400 | 401 | 403 | 404 | 422, code: PluginErrorCode | string, message: string): Response {
  return json(status, code, message);
}

/** A pass-through of an upstream answer whose body was already read. */
export function rebuilt(response: Response, text: string): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-encoding");
  headers.delete("content-length");
  headers.delete("transfer-encoding");
  return new Response(text, { status: response.status, statusText: response.statusText, headers });
}
