import { NoCandidatesError, QueueTimeoutError } from "./errors.js";
import { abortReason, type Clock } from "../util/clock.js";
import type { SlotGrant, SlotRequest } from "./ledger.js";

/** What a ledger elsewhere (another process, Redis) is told about a waiter: its candidates in order, and caps. */
export interface WaiterValues {
  cands: string[];
  caps: Record<string, number>;
}

/** A request of this process waiting for a slot. */
export interface Waiter {
  readonly id: string;
  readonly request: SlotRequest;
  /** When it started waiting (the injected clock): the timeout counts from here. */
  readonly at: number;
  /** The candidate set and caps last sent elsewhere (`sentKey`), so that an update goes out only when they changed. */
  sent: string;
}

/** How a waiter taken out is settled elsewhere. */
export interface Settle {
  request: SlotRequest;
  resolve(grant: SlotGrant): void;
  reject(error: unknown): void;
}

interface Entry extends Waiter {
  resolve(grant: SlotGrant): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/**
 * The requests of this process waiting for a slot, wherever the slots live: each with its timeout and abort signal.
 * A waiter ends exactly once: granted (`grant`), refused (`fail`), timed out or aborted (then `onDrop` tells the
 * ledger to forget it). Used by the machine ledger's socket client; written for the Redis client as well.
 */
export class Waiters {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    /** A waiter timed out or was aborted: the ledger withdraws it wherever it was registered. */
    private readonly onDrop: (waiter: Waiter) => void,
  ) {}

  /**
   * Waits for a grant. `enter` registers the waiter wherever slots live; it may grant or refuse at once (then no
   * timer nor abort listener is set up).
   */
  wait<T>(
    id: string,
    request: SlotRequest,
    wrap: (grant: SlotGrant) => T,
    enter: (waiter: Waiter) => void,
  ): Promise<T> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T>((resolve, reject) => {
      const settle = { resolve: (grant: SlotGrant) => resolve(wrap(grant)), reject, cleanup: () => {} };
      const entry: Entry = { id, request, at: this.clock.now(), sent: "", ...settle };
      this.entries.set(id, entry);
      enter(entry);
      if (!this.entries.has(id)) return;
      const onAbort = () => this.drop(entry, abortReason(signal));
      const onTimeout = () => this.drop(entry, new QueueTimeoutError(this.clock.now() - entry.at));
      const cancelTimer = this.clock.setTimer(onTimeout, request.timeoutMs);
      entry.cleanup = () => {
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): Waiter | undefined {
    return this.entries.get(id);
  }

  /** Waiters of one model, or all. */
  count(model?: string): number {
    if (model === undefined) return this.entries.size;
    let n = 0;
    for (const entry of this.entries.values()) if (entry.request.model === model) n++;
    return n;
  }

  /** A snapshot, in arrival order (safe to settle waiters while iterating). */
  all(): Waiter[] {
    return [...this.entries.values()];
  }

  /** Hands `grant` to the waiter; false when it no longer waits (the caller frees the slot). */
  grant(id: string, grant: SlotGrant): boolean {
    const entry = this.take(id);
    entry?.resolve(grant);
    return entry !== undefined;
  }

  /** Ends the waiter with `error` (no candidate left, ...); false when it no longer waits. */
  fail(id: string, error: unknown): boolean {
    const entry = this.take(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Takes the waiter out and returns how to settle it (e.g. to wait on another ledger instead). */
  handOff(id: string): Settle | undefined {
    return this.take(id);
  }

  /** Waiters whose candidates or caps changed since last sent (`sent` updated); those with none left are dropped. */
  changed(): Array<{ waiter: Waiter; values: WaiterValues }> {
    const out: Array<{ waiter: Waiter; values: WaiterValues }> = [];
    for (const entry of [...this.entries.values()]) {
      const values = valuesOf(entry.request);
      if (!values) {
        this.drop(entry, new NoCandidatesError()); // withdrawn where it was registered, too
        continue;
      }
      const text = sentKey(values);
      if (text === entry.sent) continue;
      entry.sent = text;
      out.push({ waiter: entry, values });
    }
    return out;
  }

  /** Stops every timer and abort listener (the ledger closes); the promises stay unsettled. */
  clear(): void {
    for (const entry of this.entries.values()) entry.cleanup();
    this.entries.clear();
  }

  private drop(entry: Entry, error: unknown): void {
    if (this.take(entry.id) === undefined) return;
    entry.reject(error);
    this.onDrop(entry);
  }

  private take(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    entry.cleanup();
    return entry;
  }
}

/** A request's candidates and the cap of each, as sent elsewhere; undefined when no candidate is left. */
/**
 * What an update is sent for: the candidate set and its caps, not their order. A waiter's preference order changes
 * with every routing decision (round-robin, load); sending each change made the coordinator re-dispatch its whole
 * queue once per waiter and poke, O(queue²) per release (0.04 efficiency at 1,000 waiting, bench L3). The order the
 * waiter entered with (or last sent with a changed set) stays its preference there.
 */
export function sentKey(values: WaiterValues): string {
  return [...values.cands]
    .sort()
    .map((account) => `${account}=${values.caps[account]}`)
    .join(",");
}

export function valuesOf(request: SlotRequest): WaiterValues | undefined {
  const cands = [...request.candidates()];
  if (cands.length === 0) return undefined;
  const caps: Record<string, number> = {};
  for (const account of cands) caps[account] = request.cap(account);
  return { cands, caps };
}
