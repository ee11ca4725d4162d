import type { Clock } from "../util/clock.js";

/**
 * What `http.request` left for the `http.response` of the same Request: the host passes back the very object
 * `http.request` left (packages/core/src/session/model-http.ts: `request: before.request`), so a WeakMap keyed by
 * it links the two. `http.response` may never run (user abort or header timeout between the hooks interrupts the
 * fiber, opencode-v2.md section 3): an entry not claimed within `ttlMs` is handed to `onExpire` (which frees its
 * slot) and forgotten.
 */
export class Parking<T> {
  private readonly parked = new WeakMap<Request, { value: T; cancelTimer: () => void }>();
  private live = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  park(request: Request, value: T, onExpire: (value: T) => void): void {
    this.live++;
    const cancelTimer = this.clock.setTimer(() => {
      if (!this.parked.has(request)) return;
      this.parked.delete(request);
      this.live--;
      onExpire(value);
    }, this.ttlMs);
    this.parked.set(request, { value, cancelTimer });
  }

  /** The value parked under `request`, once. */
  claim(request: Request): T | undefined {
    const entry = this.parked.get(request);
    if (!entry) return undefined;
    this.parked.delete(request);
    this.live--;
    entry.cancelTimer();
    return entry.value;
  }

  /** Entries neither claimed nor expired yet. */
  get size(): number {
    return this.live;
  }
}

/**
 * `response` with a body that cancels itself unless someone starts reading it within `ttlMs` (a host fiber
 * interrupted after `http.response` returned never reads it; cancelling frees the slot the body holds).
 */
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
  const body = new ReadableStream<Uint8Array>(
    {
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
    },
    { highWaterMark: 0 }, // pull only when the host reads, so "never read" is observable
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
