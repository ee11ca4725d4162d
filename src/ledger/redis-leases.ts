import type { Clock } from "../util/clock.js";
import { onceReleased } from "./grant.js";
import type { SlotGrant } from "./ledger.js";

export interface RedisLeasesOptions {
  clock: Clock;
  /** A lease not refreshed for this long is free again in Redis. */
  ttl: number;
  /** This process's grant channel (its missed grants are kept under `<channel>:g`). */
  channel: string;
  run<R>(script: string, ...args: Array<string | number>): Promise<R>;
  isUp(): boolean;
  /** Models this process has waiters of (dispatched at each tick: a lease that expired frees room nobody released). */
  waitingModels(): Set<string>;
  /** A grant message for this process kept in Redis (its pub/sub copy may have been lost). */
  onGrantMessage(text: string): void;
  onGrants(made: string[]): void;
  onWarning(message: string): void;
}

interface Lease {
  account: string;
  model: string;
}

/**
 * The leases this process holds in Redis, kept alive by one TICK script every third of the TTL. The same script
 * checks them first: a lease Redis no longer has (this process was suspended past the TTL, or Redis restarted
 * empty) is recorded again, counted until released, since its request may still be running at Z.AI. Slots taken on
 * the fallback ledger while Redis was away are recorded the same way once it is back.
 */
export class RedisLeases {
  readonly ttl: number;
  private readonly held = new Map<string, Lease>();
  /** Slots granted by the fallback ledger (Redis was away): registered in Redis at the next tick while they last. */
  private readonly outsiders = new Map<string, Lease>();
  private counter = 0;
  private lastTick: number;
  private cancelTick: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: RedisLeasesOptions) {
    this.ttl = options.ttl;
    this.lastTick = options.clock.now();
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTick?.();
  }

  holds(id: string): boolean {
    return this.held.has(id);
  }

  count(account: string, model: string): number {
    let count = 0;
    for (const lease of this.held.values()) if (lease.account === account && lease.model === model) count++;
    return count;
  }

  hold(id: string, account: string, model: string): void {
    this.held.set(id, { account, model });
  }

  /** Frees a lease in Redis (also one not held here: a grant that arrived for a waiter already gone). */
  release(id: string, account: string, model: string): void {
    this.held.delete(id);
    if (!this.options.isUp()) return;
    const answer = this.options.run<string[]>("releaseSlot", id, account, model, this.options.channel);
    answer.then(
      (made) => this.options.onGrants(made),
      () => {},
    );
  }

  /** A grant read after its lease's deadline: true when Redis still has the lease (now extended). */
  claim(id: string, account: string, model: string): Promise<boolean> {
    return this.options.run<number>("claimGrant", id, account, model).then(
      (kept) => kept === 1,
      () => false,
    );
  }

  /** Wraps a fallback ledger's grant so that Redis, once back, counts it until it is released. */
  outside(grant: SlotGrant): SlotGrant {
    const id = `${this.options.channel}:fallback:${++this.counter}`;
    this.outsiders.set(id, { account: grant.account, model: grant.model });
    return onceReleased(grant, () => {
      grant.release();
      if (this.outsiders.delete(id)) this.release(id, grant.account, grant.model);
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = Math.max(50, Math.floor(this.ttl / 3));
    this.cancelTick = this.options.clock.setTimer(() => void this.tick().finally(() => this.schedule()), every);
  }

  /** One script: re-checks and extends every lease held, frees expired ones, dispatches, returns missed grants. */
  async tick(): Promise<void> {
    const now = this.options.clock.now();
    const gap = now - this.lastTick;
    this.lastTick = now;
    if (!this.options.isUp()) return;
    const models = [...this.options.waitingModels()];
    const args: string[] = [];
    for (const [id, lease] of [...this.held, ...this.outsiders]) args.push(lease.account, lease.model, id);
    try {
      const answer = this.options.run<[string[], string[], string[]]>(
        "tickLeases",
        this.options.channel,
        models.length,
        ...models,
        ...args,
      );
      const [made, missing, kept] = await answer;
      this.options.onGrants(made);
      const lost = missing.filter((id) => this.held.has(id));
      if (lost.length > 0) {
        const seconds = Math.round(gap / 1000);
        const why =
          gap > this.ttl ? `this process did not run for ${seconds} s (suspended?)` : "Redis lost them (restarted?)";
        this.options.onWarning(
          `${lost.length} slot(s) held here had expired in Redis: ${why}; counted again until they end`,
        );
      }
      for (let i = 0; i + 1 < kept.length; i += 2) {
        if (!this.held.has(kept[i]!)) this.options.onGrantMessage(kept[i + 1]!);
      }
    } catch {
      // Redis went away: its 'close' moves waiters to the fallback.
    }
  }
}
