import type { Clock } from "../util/clock.js";

/**
 * Answers the plugin produced in `http.request`, parked until the host's `http.response` for the same Request.
 * The host passes back the very object `http.request` left (packages/core/src/session/model-http.ts: `request:
 * before.request`), so a WeakMap keyed by it links the two. `http.response` may never run (user abort or header
 * timeout between the hooks: the fiber is interrupted, opencode-v2.md section 3), and a body handed back may never
 * be read: both are cancelled after `ttlMs`, which ends the upstream stream and frees the account slot it holds.
 */
export class Parking {
  private readonly parked = new WeakMap<Request, { response: Response; cancelTimer: () => void }>();
  private live = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly onReclaim: (what: "unclaimed" | "unread") => void,
  ) {}

  /** Parks `response` under `request`; reclaimed after the TTL unless `claim` takes it first. */
  park(request: Request, response: Response): void {
    this.live++;
    const cancelTimer = this.clock.setTimer(() => {
      if (!this.parked.has(request)) return;
      this.parked.delete(request);
      this.live--;
      this.onReclaim("unclaimed");
      response.body?.cancel(new Error("http.response never ran")).catch(() => {});
    }, this.ttlMs);
    this.parked.set(request, { response, cancelTimer });
  }

  /** The parked answer for `request` (once), its body guarded so that a body nobody reads is cancelled too. */
  claim(request: Request): Response | undefined {
    const entry = this.parked.get(request);
    if (!entry) return undefined;
    this.parked.delete(request);
    this.live--;
    entry.cancelTimer();
    return guardUnread(entry.response, this.clock, this.ttlMs, () => this.onReclaim("unread"));
  }

  /** Answers parked and neither claimed nor reclaimed yet (for tests and the status report). */
  get size(): number {
    return this.live;
  }
}

/** `response` with a body that cancels itself unless someone starts reading it within `ttlMs`. */
export function guardUnread(response: Response, clock: Clock, ttlMs: number, onExpire: () => void): Response {
  const inner = response.body;
  if (!inner) return response;
  const reader = inner.getReader();
  let started = false;
  const stopTimer = clock.setTimer(() => {
    if (started) return;
    started = true;
    onExpire();
    reader.cancel(new Error("response body never read")).catch(() => {});
  }, ttlMs);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        stopTimer();
      }
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel(reason) {
      started = true;
      stopTimer();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 }); // pull only when the host reads, so "never read" is observable
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
