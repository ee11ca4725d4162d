/**
 * An OpenCode-like caller: what OpenCode's session loop does around the provider's fetch. It sends the request,
 * reads the stream to its end, and on a retryable failure (408, 409, 429, 5xx, a network error or a stream cut
 * short) waits and tries again, without limit: `retry-after-ms`, else `retry-after` (seconds), else 2 s doubling
 * per attempt up to 30 s. Anything else (a 4xx) is given up. Every contender is driven by this same caller.
 */
import { sleep } from "../lib/sleep.js";

export type CallOutcome =
  | { kind: "ok"; attempts: number }
  | { kind: "gave-up"; status: number; attempts: number }
  | { kind: "aborted"; attempts: number };

export interface CallHooks {
  /** A failure OpenCode saw (it retries retryable ones). */
  onFailure?(status: number, detail: string): void;
}

const INITIAL_DELAY_MS = 2000;
const BACKOFF_FACTOR = 2;
const MAX_DELAY_NO_HEADERS_MS = 30_000;

export function retryDelay(attempt: number, headers: Headers | undefined): number {
  const ms = headers?.get("retry-after-ms");
  if (ms != null && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const seconds = headers?.get("retry-after");
  if (seconds != null && Number.isFinite(Number(seconds))) return Math.max(0, Number(seconds) * 1000);
  return Math.min(INITIAL_DELAY_MS * BACKOFF_FACTOR ** (attempt - 1), MAX_DELAY_NO_HEADERS_MS);
}

function retryable(status: number): boolean {
  return status === 0 || status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Calls `fetch(url, init())` like OpenCode would until the stream has been read to its end. */
export async function callLikeOpenCode(
  fetch: typeof globalThis.fetch,
  url: string,
  init: () => RequestInit,
  signal: AbortSignal,
  hooks: CallHooks = {},
): Promise<CallOutcome> {
  let attempts = 0;
  for (;;) {
    if (signal.aborted) return { kind: "aborted", attempts };
    attempts++;
    let status = 0;
    let headers: Headers | undefined;
    let detail = "";
    try {
      const response = await fetch(url, { ...init(), signal });
      status = response.status;
      headers = response.headers;
      const text = await response.text();
      if (signal.aborted) return { kind: "aborted", attempts };
      if (response.ok && text.includes("[DONE]")) return { kind: "ok", attempts };
      detail = response.ok ? "stream ended without [DONE]" : text.slice(0, 200);
      if (response.ok) status = 0;
    } catch (error) {
      if (signal.aborted) return { kind: "aborted", attempts };
      detail = String(error);
    }
    hooks.onFailure?.(status, detail);
    if (!retryable(status)) return { kind: "gave-up", status, attempts };
    try {
      await sleep(retryDelay(attempts, headers), signal);
    } catch {
      return { kind: "aborted", attempts };
    }
  }
}
