import { pairKey } from "../pool/pool-state.js";
import { abortReason, type Clock } from "../util/clock.js";
import { NoCandidatesError, QueueTimeoutError } from "./errors.js";
import type { Limits } from "./limits.js";
import { explainedByCancel, OUTCOME_EFFECTS, type LeaseOutcome } from "./outcome.js";

/** What releasing a lease changed. */
export interface ReleaseEffect {
  /** The 1302 lowered the pair's learned limit. */
  limitLowered: boolean;
  /** The 1302 came right after a cancelled stream freed a slot of the pair: not counted against the limit. */
  explained: boolean;
}

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
  /** When the slot was granted. */
  readonly grantedAt: number;
  /** Z.AI took the request (no 1302): the pair is proven to admit this many at once. */
  admitted(): void;
  /** Frees the slot; what follows from `outcome` is in OUTCOME_EFFECTS. Only the first call counts. */
  release(outcome: LeaseOutcome): ReleaseEffect;
  /** Released already? */
  readonly released: boolean;
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
  /** Slots freed by cancelled streams, still in their grace (their timers). */
  private readonly graceTimers = new Set<() => void>();
  /** When a cancelled stream's slot was last handed on, per pair. */
  private readonly lastCancelFreed = new Map<string, number>();
  private readonly cancelGraceMs: number;

  constructor(clock: Clock, limits: Limits, options: { cancelGraceMs?: number } = {}) {
    this.clock = clock;
    this.limits = limits;
    this.cancelGraceMs = options.cancelGraceMs ?? 0;
  }

  /** Leases held (granted, not yet handed on) across all pairs, slots in cancel grace included. */
  totalInFlight(): number {
    let n = 0;
    for (const count of this.inFlightByPair.values()) n += count;
    return n;
  }

  /** Timers the scheduler has running (wake-ups and cancel graces): zero when idle. */
  pendingTimers(): number {
    return this.wakeTimers.size + this.graceTimers.size;
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

  /** Cancels pending wake timers and hands on slots still in their cancel grace (waiters keep their own timers). */
  close(): void {
    for (const cancel of this.wakeTimers.values()) cancel();
    this.wakeTimers.clear();
    for (const cancel of [...this.graceTimers]) cancel();
  }

  private grant(account: string, model: string): Lease {
    const pair = pairKey(account, model);
    const others = this.inFlightByPair.get(pair) ?? 0;
    this.inFlightByPair.set(pair, others + 1);
    const state = this.limits.get(account, model);
    const grantedAt = this.clock.now();
    let released = false;
    const none: ReleaseEffect = { limitLowered: false, explained: false };
    return {
      account,
      model,
      epoch: state.epoch,
      othersInFlight: others,
      saturated: others + 1 >= state.limit,
      grantedAt,
      get released() {
        return released;
      },
      admitted: () => {
        this.limits.admitted(account, model, others + 1);
        // Slow start: an admission may open one more slot.
        if (this.waiters.length > 0) this.dispatch();
      },
      release: (outcome) => {
        if (released) return none;
        released = true;
        const effect = OUTCOME_EFFECTS[outcome];
        let result = none;
        if (effect.learn === "completed") this.limits.completed(account, model, others + 1 >= state.limit);
        if (effect.learn === "refused") {
          if (explainedByCancel(grantedAt, this.lastCancelFreed.get(pair), this.cancelGraceMs)) {
            result = { limitLowered: false, explained: true };
          } else {
            const before = this.limits.limit(account, model);
            this.limits.refused(account, model, state.epoch, others);
            result = { limitLowered: this.limits.limit(account, model) < before, explained: false };
          }
        }
        if (effect.grace && this.cancelGraceMs > 0) this.freeAfterGrace(pair);
        else this.free(pair);
        return result;
      },
    };
  }

  private free(pair: string): void {
    const left = (this.inFlightByPair.get(pair) ?? 1) - 1;
    if (left <= 0) this.inFlightByPair.delete(pair);
    else this.inFlightByPair.set(pair, left);
    if (this.waiters.length > 0) this.dispatch();
  }

  /** Keeps the slot taken while Z.AI may still count the cancelled stream, then hands it on. */
  private freeAfterGrace(pair: string): void {
    const done = () => {
      if (!this.graceTimers.delete(done)) return;
      cancelTimer();
      this.lastCancelFreed.set(pair, this.clock.now());
      this.free(pair);
    };
    const cancelTimer = this.clock.setTimer(done, this.cancelGraceMs);
    this.graceTimers.add(done);
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
