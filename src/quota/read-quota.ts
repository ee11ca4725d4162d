import type { Clock } from "../util/clock.js";
import { parseQuotaAnswer } from "./parse.js";
import { quotaHeaders, quotaUrl } from "./quota-url.js";
import type { QuotaAnswer } from "./reading.js";

export const DEFAULT_QUOTA_TIMEOUT_MS = 10_000;

export interface ReadQuotaDeps {
  fetch: typeof globalThis.fetch;
  clock: Clock;
  /** Runs the timeout; default `clock`. */
  timers?: Pick<Clock, "setTimer">;
  timeoutMs?: number;
}

/**
 * One call of the quota endpoint for one key. Never throws: a timeout, a refused connection or a body cut
 * short is an `unknown` answer. Also what `doctor` uses to validate a key (it spends no tokens).
 */
export async function readQuota(deps: ReadQuotaDeps, baseUrl: string, apiKey: string): Promise<QuotaAnswer> {
  const controller = new AbortController();
  const timeoutMs = deps.timeoutMs ?? DEFAULT_QUOTA_TIMEOUT_MS;
  let cancel = (): void => {};
  // A fetch that ignores its signal must not hold the read either: the timeout answers on its own.
  const timeout = new Promise<QuotaAnswer>((resolve) => {
    cancel = (deps.timers ?? deps.clock).setTimer(() => {
      controller.abort(new Error("quota read timed out"));
      resolve({ kind: "unknown", why: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const read = (async (): Promise<QuotaAnswer> => {
    try {
      const response = await deps.fetch(quotaUrl(baseUrl), {
        method: "GET",
        headers: quotaHeaders(apiKey),
        signal: controller.signal,
      });
      const text = await response.text();
      return parseQuotaAnswer(response.status, text, deps.clock.now());
    } catch (error) {
      if (controller.signal.aborted) return { kind: "unknown", why: `no answer within ${timeoutMs} ms` };
      return { kind: "unknown", why: `request failed (${error instanceof Error ? error.name : "error"})` };
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    cancel();
  }
}
