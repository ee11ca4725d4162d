import type { SlotGrant, SlotLedger, SlotRequest } from "./ledger.js";
import type { RedisLeases } from "./redis-leases.js";

/** Why a request waiting on the fallback was taken back: Redis is reachable again. */
const BACK_TO_REDIS = Symbol("back to Redis");

/**
 * Requests served by the fallback ledger while Redis is unreachable. Their slots are wrapped so that Redis counts
 * them once it is back (RedisLeases.outside); those still waiting then are taken back and queue in Redis again,
 * with their first arrival: otherwise the fallback would keep granting beside Redis, above the limit.
 */
export class FallbackWaiters {
  private readonly waiting = new Set<AbortController>();

  constructor(
    private readonly fallback: SlotLedger,
    private readonly leases: RedisLeases,
  ) {}

  /** Waits on the fallback; `requeue` is called instead of `wrap` if Redis comes back first. */
  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T, requeue: () => Promise<T>): Promise<T> {
    // Aborted by the request's own signal, or by takeBack (with BACK_TO_REDIS).
    const back = new AbortController();
    const onAbort = () => back.abort(request.signal?.reason);
    request.signal?.addEventListener("abort", onAbort, { once: true });
    this.waiting.add(back);
    const done = () => {
      this.waiting.delete(back);
      request.signal?.removeEventListener("abort", onAbort);
    };
    return this.fallback
      .acquire({ ...request, signal: back.signal }, (g) => wrap(this.leases.outside(g)))
      .then(
        (value) => {
          done();
          return value;
        },
        (error: unknown) => {
          done();
          if (back.signal.reason === BACK_TO_REDIS) return requeue();
          throw error;
        },
      );
  }

  /** Redis is back: every request still waiting on the fallback goes back to Redis. */
  takeBack(): void {
    for (const back of [...this.waiting]) back.abort(BACK_TO_REDIS);
  }
}
