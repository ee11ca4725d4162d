import { hostname } from "node:os";
import { NoCandidatesError } from "./errors.js";
import type { Holder, PairStatus, SlotRequest } from "./ledger.js";
import { pairKey } from "../limits/pair-key.js";

/** A waiter as the table sees it: from this process (live functions) or from another (last values it sent). */
export interface TableWaiter {
  id: string;
  owner: string;
  model: string;
  /** Wall-clock arrival; orders waiters of different owners. */
  at: number;
  /** Arrival order inside the owner; orders waiters of the same owner. */
  seq: number;
  candidates(): readonly string[];
  cap(account: string): number;
  grant(account: string, othersInFlight: number): void;
  reject(error: unknown): void;
}

interface TableLease {
  account: string;
  model: string;
  owner: string;
}

/**
 * The slots of every (account, model): in-flight leases by owner, and one first-come-first-served queue.
 * Synchronous and transport-free: the in-process ledger and the machine coordinator both run on it.
 */
export class SlotTable {
  private readonly leases = new Map<string, TableLease>();
  private readonly counts = new Map<string, number>();
  private readonly waiters: TableWaiter[] = [];
  private readonly owners = new Map<string, Holder>();
  /** While true (right after a take-over, holders re-registering), nothing is granted. */
  private paused = false;

  /**
   * `limitOf`: the latest limit of a pair any process published. A waiter's cap was computed when its process last
   * sent it; after another process learned a lower limit it may be stale for a moment: never grant above the latest.
   */
  constructor(
    private readonly limitOf: (account: string, model: string) => number | undefined = () => undefined,
    /** False while this table may not grant at all (a coordinator that was suspended: its view may be stale). */
    private readonly mayGrant: () => boolean = () => true,
  ) {}

  /** A table whose first owner is this process. */
  static of(owner: string, ...args: ConstructorParameters<typeof SlotTable>): SlotTable {
    const table = new SlotTable(...args);
    table.setOwner(owner, { host: hostname(), pid: process.pid });
    return table;
  }

  setOwner(owner: string, holder: Holder): void {
    this.owners.set(owner, holder);
  }

  inFlight(account: string, model: string): number {
    return this.counts.get(pairKey(account, model)) ?? 0;
  }

  waiting(owner?: string, model?: string): number {
    return this.waiters.filter(
      (w) => (owner === undefined || w.owner === owner) && (model === undefined || w.model === model),
    ).length;
  }

  /** Grants at once when nobody waits and a candidate has room; queues otherwise. */
  acquire(waiter: TableWaiter): void {
    if (this.waiters.length === 0 && !this.paused && this.mayGrant()) {
      const candidates = waiter.candidates();
      if (candidates.length === 0) return waiter.reject(new NoCandidatesError());
      if (this.tryGrant(waiter, candidates)) return;
    }
    this.insert(waiter);
    // Nothing was freed: the waiters already queued still cannot be granted; only the newcomer may fit.
    this.offer(waiter);
  }

  /** A waiter's candidates or caps changed (another process sent them): only its own chance changed. */
  changed(id: string): void {
    const waiter = this.waiters.find((w) => w.id === id);
    if (waiter) this.offer(waiter);
  }

  /** Records a slot already in flight (a holder re-registering after a take-over); may exceed the cap. */
  hold(id: string, owner: string, account: string, model: string): void {
    if (this.leases.has(id)) return;
    this.leases.set(id, { account, model, owner });
    const pair = pairKey(account, model);
    this.counts.set(pair, (this.counts.get(pair) ?? 0) + 1);
  }

  release(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    const pair = pairKey(lease.account, lease.model);
    const left = (this.counts.get(pair) ?? 1) - 1;
    if (left <= 0) this.counts.delete(pair);
    else this.counts.set(pair, left);
    if (this.waiters.length > 0) this.dispatchFreed(lease.account, lease.model);
  }

  /** Removes a waiter (timed out, aborted, cancelled). */
  cancel(id: string): void {
    const i = this.waiters.findIndex((w) => w.id === id);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** A process went away: its waiters are gone at once. */
  dropWaiters(owner: string): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]!.owner === owner) this.waiters.splice(i, 1);
  }

  /** A process went away: its slots are free and its waiters gone. */
  dropOwner(owner: string): void {
    this.dropWaiters(owner);
    for (const [id, lease] of [...this.leases]) if (lease.owner === owner) this.release(id);
    this.owners.delete(owner);
    this.dispatch();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.dispatch();
  }

  /** Grants free slots to waiters in arrival order. */
  dispatch(): void {
    if (this.paused || !this.mayGrant()) return;
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      const candidates = waiter.candidates();
      if (candidates.length === 0) {
        this.waiters.splice(i, 1);
        waiter.reject(new NoCandidatesError());
        continue;
      }
      // Removed before granting: a grant callback may re-enter (release, acquire).
      const account = candidates.find((a) => this.hasRoom(waiter, a));
      if (account !== undefined) {
        this.waiters.splice(i, 1);
        this.take(waiter, account);
        continue;
      }
      i++;
    }
  }

  /**
   * The uncontended path: when nobody waits and a candidate has room, takes it for `id` and returns
   * `[account, others]`, with no waiter object; undefined otherwise (then `acquire` queues as usual).
   */
  tryTake(
    id: string,
    owner: string,
    request: Pick<SlotRequest, "model" | "candidates" | "cap">,
  ): [string, number] | undefined {
    if (this.waiters.length > 0 || this.paused || !this.mayGrant()) return undefined;
    const { model } = request;
    for (const account of request.candidates()) {
      const others = this.inFlight(account, model);
      if (others >= Math.min(request.cap(account), this.limitOf(account, model) ?? Number.POSITIVE_INFINITY)) continue;
      this.hold(id, owner, account, model);
      return [account, others];
    }
    return undefined;
  }

  /**
   * Every lease counted, grouped as `[owner, account, model, count]` (for a successor, should this table go silent).
   */
  owned(): Array<[string, string, string, number]> {
    const counts = new Map<string, [string, string, string, number]>();
    for (const lease of this.leases.values()) {
      const key = `${lease.owner}\u0000${lease.account}\u0000${lease.model}`;
      const entry = counts.get(key);
      if (entry) entry[3]++;
      else counts.set(key, [lease.owner, lease.account, lease.model, 1]);
    }
    return [...counts.values()];
  }

  status(): PairStatus[] {
    const pairs = new Map<string, PairStatus>();
    const entry = (account: string, model: string) => {
      const key = pairKey(account, model);
      let status = pairs.get(key);
      if (!status) pairs.set(key, (status = { account, model, inFlight: 0, holders: [], queued: 0 }));
      return status;
    };
    for (const lease of this.leases.values()) {
      const status = entry(lease.account, lease.model);
      status.inFlight++;
      const holder = this.owners.get(lease.owner);
      if (holder && !status.holders.some((h) => h.pid === holder.pid && h.host === holder.host))
        status.holders.push(holder);
    }
    for (const waiter of this.waiters) {
      const first = waiter.candidates()[0];
      if (first !== undefined) entry(first, waiter.model).queued++;
    }
    return [...pairs.values()];
  }

  private tryGrant(waiter: TableWaiter, candidates: readonly string[]): boolean {
    const account = candidates.find((a) => this.hasRoom(waiter, a));
    if (account === undefined) return false;
    this.take(waiter, account);
    return true;
  }

  private hasRoom(waiter: TableWaiter, account: string): boolean {
    const cap = Math.min(waiter.cap(account), this.limitOf(account, waiter.model) ?? Number.POSITIVE_INFINITY);
    return this.inFlight(account, waiter.model) < cap;
  }

  /** Grants a queued waiter its first candidate with room, if any (FIFO holds: those before it cannot take one). */
  private offer(waiter: TableWaiter): void {
    if (this.paused || !this.mayGrant()) return;
    const candidates = waiter.candidates();
    const account = candidates.find((a) => this.hasRoom(waiter, a));
    if (candidates.length > 0 && account === undefined) return;
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    if (account === undefined) waiter.reject(new NoCandidatesError());
    else this.take(waiter, account);
  }

  /**
   * After a slot of one pair was freed: the first waiters (in arrival order) that can use that account take it, and
   * the scan stops once the pair is full again. Only waiters of that model with that account as a candidate can have
   * gained anything; the others stay queued as they were.
   */
  private dispatchFreed(account: string, model: string): void {
    if (this.paused || !this.mayGrant()) return;
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i]!;
      const candidates = waiter.model === model ? waiter.candidates() : undefined;
      if (candidates === undefined || (candidates.length > 0 && !candidates.includes(account))) {
        i++;
        continue;
      }
      const chosen = candidates.find((a) => this.hasRoom(waiter, a));
      if (candidates.length > 0 && chosen === undefined) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      if (chosen === undefined) waiter.reject(new NoCandidatesError());
      else this.take(waiter, chosen);
      if (this.inFlight(account, model) >= (this.limitOf(account, model) ?? Number.POSITIVE_INFINITY)) return;
    }
  }

  private take(waiter: TableWaiter, account: string): void {
    const others = this.inFlight(account, waiter.model);
    this.hold(waiter.id, waiter.owner, account, waiter.model);
    waiter.grant(account, others);
  }

  private insert(waiter: TableWaiter): void {
    let i = this.waiters.length;
    while (i > 0 && goesAfter(this.waiters[i - 1]!, waiter)) i--;
    this.waiters.splice(i, 0, waiter);
  }
}

/** Same owner: by its arrival order; different owners: by wall-clock arrival. */
function goesAfter(queued: TableWaiter, incoming: TableWaiter): boolean {
  return queued.owner === incoming.owner ? queued.seq > incoming.seq : queued.at > incoming.at;
}
