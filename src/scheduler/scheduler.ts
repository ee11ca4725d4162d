import type { Clock } from "../util/clock.js";
import type { LedgerKind, LedgerStatus, SlotGrant, SlotLedger, SlotRequest } from "../ledger/ledger.js";
import { SharedLedger } from "../ledger/shared-ledger.js";
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

/**
 * Account-wide slots per model: no (account, model) ever has more requests in flight than its limit.
 * Requests that find no free slot wait first come, first served, for the first slot on any of their accounts.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly limits: Limits;
  private readonly ledger: SlotLedger;
  private readonly wakeTimers = new Map<number, () => void>();

  /** `ledger`: where slots live and requests wait (this process by default; see src/ledger). */
  constructor(clock: Clock, limits: Limits, ledger: SlotLedger = SharedLedger.local(clock)) {
    this.clock = clock;
    this.limits = limits;
    this.ledger = ledger;
    // Learned limits are the account's: share them with every process on the same ledger.
    limits.observe((account, model, state) => ledger.publishLimit({ account, model, state }));
    ledger.onLimit(({ account, model, state }) => {
      limits.replace(account, model, state);
      ledger.poke();
    });
  }

  get ledgerKind(): LedgerKind {
    return this.ledger.kind;
  }

  /** Slots in flight, holders and queues across every process sharing the ledger (for `status`). */
  ledgerStatus(): Promise<LedgerStatus> {
    return this.ledger.status();
  }

  inFlight(account: string, model: string): number {
    return this.ledger.inFlight(account, model);
  }

  hasFreeSlot(account: string, model: string): boolean {
    return this.inFlight(account, model) < this.limits.cap(account, model);
  }

  /** Requests waiting for a slot (of one model, or all). */
  waiting(model?: string): number {
    return this.ledger.waiting(model);
  }

  acquire(request: AcquireRequest): Promise<Lease> {
    const { model } = request;
    const slot: SlotRequest = {
      model,
      seq: request.seq,
      candidates: request.candidates,
      cap: (account) => this.limits.cap(account, model),
      signal: request.signal,
      timeoutMs: request.timeoutMs,
    };
    return this.ledger.acquire(slot, (grant) => this.lease(grant));
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

  /** Grants free slots to waiters in arrival order (candidates or caps may have changed). */
  dispatch(): void {
    this.ledger.poke();
  }

  /** Cancels pending wake timers (waiters keep their own timers and signals). */
  close(): void {
    for (const cancel of this.wakeTimers.values()) cancel();
    this.wakeTimers.clear();
  }

  private lease(grant: SlotGrant): Lease {
    const { account, model } = grant;
    const others = grant.othersInFlight;
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
        if (this.ledger.waiting() > 0) this.ledger.poke();
      },
      release: (outcome) => {
        if (released) return;
        released = true;
        // Learn first: the grant's release may hand the slot to a waiter at once, under the new cap.
        if (outcome === "completed") this.limits.completed(account, model, others + 1 >= state.limit);
        if (outcome === "refused") this.limits.refused(account, model, state.epoch, others);
        grant.release();
      },
    };
  }
}
