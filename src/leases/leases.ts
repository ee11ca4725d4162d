import type { LedgerKind, LedgerStatus, SlotGrant, SlotLedger, SlotRequest } from "../ledger/ledger.js";
import { SharedLedger } from "../ledger/shared-ledger.js";
import { pairKey } from "../limits/pair-key.js";
import type { Clock } from "../util/clock.js";
import type { Limits } from "../limits/limits.js";
import { explainedByCancel, LEASE_ENDINGS, type LeaseOutcome } from "../classify/outcomes.js";

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
  /**
   * Frees the slot; what follows from `outcome` is in LEASE_ENDINGS. Only the first call counts. `closedEarly`: the
   * plugin closed the connection before the answer's end (an error read at the start of a stream, an HTML page):
   * Z.AI counts the request until it notices, so the slot is kept for the cancel grace as after a cancel.
   */
  release(outcome: LeaseOutcome, closedEarly?: boolean): ReleaseEffect;
  /** Released already? */
  readonly released: boolean;
}

export interface AcquireRequest {
  model: string;
  /** Arrival order; lower goes first. A retried request keeps its number and so its place. */
  seq: number;
  /** When the request first arrived (kept across retries: its place among other processes' waiters too). */
  at?: number | undefined;
  /** Usable accounts in preference order, re-read at every dispatch (cooldowns change while waiting). */
  candidates(): readonly string[];
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/**
 * Account-wide slots per model: no (account, model) ever has more requests in flight than its limit.
 * Requests that find no free slot wait first come, first served, for the first slot on any of their accounts.
 */
export class Leases {
  private readonly clock: Clock;
  private readonly limits: Limits;
  private readonly ledger: SlotLedger;
  /** Leases of this process granted and not yet handed on (cancel graces included). */
  private held = 0;
  private readonly wakeTimers = new Map<number, () => void>();
  /** Slots freed by cancelled streams, still in their grace (their timers). */
  private readonly graceTimers = new Set<() => void>();
  /** When a cancelled stream's slot was last handed on, per pair. */
  private readonly lastCancelFreed = new Map<string, number>();
  private readonly cancelGraceMs: number;

  /** `ledger`: where slots live and requests wait (this process by default; machine-wide or Redis: src/ledger). */
  constructor(clock: Clock, limits: Limits, options: { cancelGraceMs?: number; ledger?: SlotLedger | undefined } = {}) {
    this.clock = clock;
    this.limits = limits;
    this.cancelGraceMs = options.cancelGraceMs ?? 0;
    const ledger = options.ledger ?? SharedLedger.local(clock);
    this.ledger = ledger;
    // A learned limit is the account's: shared with every process on the same ledger.
    limits.observe((account, model, state) => ledger.publishLimit({ account, model, state }));
    ledger.onLimit(({ account, model, state }) => {
      limits.replace(account, model, state);
      ledger.poke();
    });
  }

  /** Where the slots live: "local", "machine" or "redis". */
  get ledgerKind(): LedgerKind {
    return this.ledger.kind;
  }

  /** Slots in flight, holders and queues across every process sharing the ledger (for `status`). */
  ledgerStatus(): Promise<LedgerStatus> {
    return this.ledger.status();
  }

  /** Leases held (granted, not yet handed on) by this process, slots in cancel grace included. */
  totalInFlight(): number {
    return this.held;
  }

  /** Timers the leases has running (wake-ups and cancel graces): zero when idle. */
  pendingTimers(): number {
    return this.wakeTimers.size + this.graceTimers.size;
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
      at: request.at,
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

  /** Cancels pending wake timers and hands on slots still in their cancel grace (waiters keep their own timers). */
  close(): void {
    for (const cancel of this.wakeTimers.values()) cancel();
    this.wakeTimers.clear();
    for (const cancel of [...this.graceTimers]) cancel();
  }

  private lease(grant: SlotGrant): Lease {
    const { account, model } = grant;
    const pair = pairKey(account, model);
    const others = grant.othersInFlight;
    const state = this.limits.get(account, model);
    const grantedAt = this.clock.now();
    this.held++;
    let released = false;
    const none: ReleaseEffect = { limitLowered: false, explained: false };
    const free = () => {
      this.held--;
      grant.release();
    };
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
        if (this.ledger.waiting() > 0) this.ledger.poke();
      },
      release: (outcome, closedEarly = false) => {
        if (released) return none;
        released = true;
        const effect = LEASE_ENDINGS[outcome];
        let result = none;
        if (effect.learn === "completed") this.limits.completed(account, model, others + 1 >= state.limit, state.epoch);
        if (effect.learn === "refused") {
          if (explainedByCancel(grantedAt, this.lastCancelFreed.get(pair), this.cancelGraceMs)) {
            result = { limitLowered: false, explained: true };
          } else {
            const before = this.limits.limit(account, model);
            this.limits.refused(account, model, state.epoch, others);
            result = { limitLowered: this.limits.limit(account, model) < before, explained: false };
          }
        }
        if ((effect.grace || closedEarly) && this.cancelGraceMs > 0) this.freeAfterGrace(pair, free);
        else free();
        return result;
      },
    };
  }

  /** Keeps the slot taken while Z.AI may still count the cancelled stream, then hands it on. */
  private freeAfterGrace(pair: string, free: () => void): void {
    const done = () => {
      if (!this.graceTimers.delete(done)) return;
      cancelTimer();
      this.lastCancelFreed.set(pair, this.clock.now());
      free();
    };
    const cancelTimer = this.clock.setTimer(done, this.cancelGraceMs);
    this.graceTimers.add(done);
  }
}
