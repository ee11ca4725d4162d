/**
 * The upstream fetch every contender is given, instrumented the same way for all of them: it notes when each
 * upstream attempt of a logical request starts (by the `x-bench-req` header the caller sets, which every contender
 * forwards), and which attempt was served (answered 200). Queue wait = start of the served attempt − first call.
 */
import { performance } from "node:perf_hooks";

export const REQUEST_ID_HEADER = "x-bench-req";

export interface UpstreamLog {
  fetch: typeof globalThis.fetch;
  /** performance.now() at which the attempt that got a 200 started, per request id. */
  servedStart(id: string): number | undefined;
  /** Upstream attempts made. */
  readonly attempts: number;
}

export function instrumentedUpstream(inner: typeof globalThis.fetch = globalThis.fetch): UpstreamLog {
  const served = new Map<string, number>();
  let attempts = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const started = performance.now();
    attempts++;
    const id = new Headers(init?.headers).get(REQUEST_ID_HEADER);
    const response = await inner(input, init);
    if (response.ok && id !== null) served.set(id, started);
    return response;
  }) as typeof globalThis.fetch;
  return {
    fetch,
    servedStart: (id) => served.get(id),
    get attempts() {
      return attempts;
    },
  };
}
