import { pairKey } from "../pool/pool-state.js";
import { abortReason, type Clock } from "../util/clock.js";
import { NoCandidatesError, QueueTimeoutError } from "./errors.js";
import type { Limits } from "./limits.js";

/** A held concurrency slot on one (account, model). Released exactly once. */
export interface Lease {
  readonly account: string;
  readonly model: string;
  /** The limit's epoch at grant time (see adaptive-limit.ts). */
  readonly epoch: number;
  /** Other requests of the pair in flight when this one was granted. */
  readonly othersInFlight: number;
  /** The pair was at its limit once this one was granted. */
  readonly saturated: boolean;
  /** Z.AI took the request (no 1302): the pair is proven to admit this many at once. */
  admitted(): void;
  /** `completed`: clean success; `refused`: answered 1302; `other`: anything else. Idempotent. */
  release(outcome: "completed" | "refused" | "other"): void;
}

export interface AcquireRequest {
  model: string;
  /** Arrival order; lower goes first. A retried request keeps its number and so its place. */
  seq: number;
  /** Usable accounts in preference order, re-read at every dispatch (cooldowns change while waiting). */
  candidates(): readonly string[];
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

interface Waiter {
  request: AcquireRequest;
  enqueuedAt: number;
  resolve(lease: Lease): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/**
 * Account-wide slots per model: no (account, model) ever has more requests in flight than its limit.
 * Requests that find no free slot wait first come, first served, for the first slot on any of their accounts.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly limits: Limits;
  private readonly inFlightByPair = new Map<string, number>();
  private readonly waiters: Waiter[] = [];
  private readonly wakeTimers = new Map<number, () => void>();

  constructor(clock: Clock, limits: Limits) {
    this.clock = clock;
    this.limits = limits;
  }

  inFlight(account: string, model: string): number {
    return this.inFlightByPair.get(pairKey(account, model)) ?? 0;
  }

  hasFreeSlot(account: string, model: string): boolean {
    return this.inFlight(account, model) < this.limits.cap(account, model);
  }

  /** Requests waiting for a slot (of one model, or all). */
  waiting(model?: string): number {
    return model === undefined ? this.waiters.length : this.waiters.filter((w) => w.request.model === model).length;
  }

  /** Takes a free slot on the first candidate that has one, without waiting. */
  tryAcquire(model: string, candidates: readonly string[]): Lease | undefined {
    const account = candidates.find((a) => this.hasFreeSlot(a, model));
    return account === undefined ? undefined : this.grant(account, model);
  }

  acquire(request: AcquireRequest): Promise<Lease> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiters.length === 0) {
      // Fast path: nobody is queued ahead, so a free slot can be taken without enqueueing.
      const candidates = request.candidates();
      if (candidates.length === 0) return Promise.reject(new NoCandidatesError());
      const lease = this.tryAcquire(request.model, candidates);
      if (lease) return Promise.resolve(lease);
    }
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(abortReason(signal));
      };
      const cancelTimer = this.clock.setTimer(() => {
        this.remove(waiter);
        reject(new QueueTimeoutError(this.clock.now() - waiter.enqueuedAt));
      }, request.timeoutMs);
      const waiter: Waiter = {
        request,
        enqueuedAt: this.clock.now(),
        resolve,
        reject,
        cleanup: () => {
          cancelTimer();
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.insert(waiter);
      this.dispatch();
    });
  }

  /** Re-runs dispatch at `time` (when a hold or cooldown ends, an account may take waiters again). */
  wakeAt(time: number): void {
    if (this.wakeTimers.has(time)) return;
    const cancel = this.clock.setTimer(() => {
      this.wakeTimers.delete(time);
      this.dispatch();
    }, time - this.clock.now());
    this.wakeTimers.set(time, cancel);
  }

  /** Grants free slots to waiters in arrival order. */
  dispatch(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      const candidates = waiter.request.candidates();
      if (candidates.length === 0) {
        this.waiters.splice(i, 1);
        waiter.cleanup();
        waiter.reject(new NoCandidatesError());
        continue;
      }
      const lease = this.tryAcquire(waiter.request.model, candidates);
      if (lease) {
        this.waiters.splice(i, 1);
        waiter.cleanup();
        waiter.resolve(lease);
        continue;
      }
      i++;
    }
  }

  /** Cancels pending wake timers (waiters keep their own timers and signals). */
  close(): void {
    for (const cancel of this.wakeTimers.values()) cancel();
    this.wakeTimers.clear();
  }

  private grant(account: string, model: string): Lease {
    const pair = pairKey(account, model);
    const others = this.inFlightByPair.get(pair) ?? 0;
    this.inFlightByPair.set(pair, others + 1);
    const state = this.limits.get(account, model);
    let released = false;
    return {
      account,
      model,
      epoch: state.epoch,
      othersInFlight: others,
      saturated: others + 1 >= state.limit,
      admitted: () => {
        this.limits.admitted(account, model, others + 1);
        // Slow start: an admission may open one more slot.
        if (this.waiters.length > 0) this.dispatch();
      },
      release: (outcome) => {
        if (released) return;
        released = true;
        const now = (this.inFlightByPair.get(pair) ?? 1) - 1;
        if (now === 0) this.inFlightByPair.delete(pair);
        else this.inFlightByPair.set(pair, now);
        if (outcome === "completed") this.limits.completed(account, model, others + 1 >= state.limit);
        if (outcome === "refused") this.limits.refused(account, model, state.epoch, others);
        if (this.waiters.length > 0) this.dispatch();
      },
    };
  }

  private insert(waiter: Waiter): void {
    let i = this.waiters.length;
    while (i > 0 && this.waiters[i - 1]!.request.seq > waiter.request.seq) i--;
    this.waiters.splice(i, 0, waiter);
  }

  private remove(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
    waiter.cleanup();
  }
}
