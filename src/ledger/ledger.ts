import type { LimitState } from "../limits/adaptive-limit.js";

/** The rule every shared store (machine coordinator, Redis) and every process (`Limits.replace`) takes limits by. */
export { acceptsLimit } from "../limits/adaptive-limit.js";

/** Where slots live: this process only, every process of the user on this machine, or Redis (many machines). */
export type LedgerKind = "local" | "machine" | "redis";

/** One request asking for a slot on any of its accounts for one model. */
export interface SlotRequest {
  model: string;
  /** Arrival order inside this process; a retried request keeps its number and so its place. */
  seq: number;
  /**
   * When the request first arrived (wall clock, ms), kept across its retries: orders waiters of different processes
   * and machines, so a retry keeps its place there too. Absent: the time of this acquire.
   */
  at?: number | undefined;
  /** Usable accounts in preference order, re-read whenever the ledger is poked. */
  candidates(): readonly string[];
  /** How many requests of (account, model) may be in flight account-wide right now. */
  cap(account: string): number;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/** A held slot. `release` is idempotent. */
export interface SlotGrant {
  readonly id: string;
  readonly account: string;
  readonly model: string;
  /** Other requests of the pair in flight (in every process) when this one was granted. */
  readonly othersInFlight: number;
  release(): void;
}

/** Who holds a slot. */
export interface Holder {
  host: string;
  pid: number;
}

/** One (account, model) as the ledger sees it, across every process (and machine) sharing it. */
export interface PairStatus {
  account: string;
  model: string;
  inFlight: number;
  holders: Holder[];
  queued: number;
}

export interface LedgerStatus {
  kind: LedgerKind;
  /**
   * e.g. "coordinator (this process)", "client of pid 123", "redis://127.0.0.1:6379", "per-process (socket unusable)".
   */
  detail: string;
  pairs: PairStatus[];
}

/** A learned limit published by one process to the others. */
export interface SharedLimit {
  account: string;
  model: string;
  state: LimitState;
}

/**
 * Slot accounting and waiting, wherever the slots live. The Scheduler decides (caps, learning); the ledger only
 * counts in-flight leases per (account, model), queues waiters first come first served and grants freed slots.
 */
export interface SlotLedger {
  readonly kind: LedgerKind;
  /**
   * Resolves with `wrap(slot)` (wrapped before resolving, so the caller sees it in the same tick), or rejects with
   * QueueTimeoutError / NoCandidatesError / the signal's reason.
   */
  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T): Promise<T>;
  /** Candidates or caps may have changed: re-examine waiters. */
  poke(): void;
  /** This ledger's best current view of in-flight requests of a pair (all processes where known). */
  inFlight(account: string, model: string): number;
  /** Requests of this process waiting (of one model, or all). */
  waiting(model?: string): number;
  /** Shares a learned limit with the other processes. */
  publishLimit(limit: SharedLimit): void;
  /**
   * This process wrote something new to the shared state file: the other processes on the machine read it now,
   * not at their next round (a 1308 learned here is not paid for again there).
   */
  announceState(): void;
  /** Called when another process on the machine announced a state-file change. */
  onStateAnnounced(listener: () => void): void;
  /** Called with limits other processes learned (also those known when this one joins). */
  onLimit(listener: (limit: SharedLimit) => void): void;
  status(): Promise<LedgerStatus>;
  close(): Promise<void>;
}
