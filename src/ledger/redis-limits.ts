import type { Redis } from "ioredis";
import { withoutTry } from "../limits/adaptive-limit.js";
import type { SharedLimit } from "./ledger.js";
import { parseLimit } from "./redis-status.js";
import { pairKey } from "../limits/pair-key.js";

/** The learned limits other processes published through Redis, passed on to this process's listeners. */
export class RedisLimits {
  private readonly listeners: Array<(limit: SharedLimit) => void> = [];
  private readonly known = new Map<string, SharedLimit>();

  /** Calls `listener` with every limit known so far and every one published from now on. */
  listen(listener: (limit: SharedLimit) => void): void {
    this.listeners.push(listener);
    for (const limit of this.known.values()) listener(limit);
  }

  /** A message on the limits channel (the store took it: see PUBLISH_LIMIT). */
  receive(text: string): void {
    const limit = parseLimit(text);
    if (!limit) return;
    this.known.set(pairKey(limit.account, limit.model), limit);
    for (const listener of this.listeners) listener(limit);
  }

  /**
   * The limits learned so far, at their proven levels: a try one higher stored by a process that may have exited
   * since would otherwise be this one's first step (measured: the lone process after a shared run began with a
   * 1302 on each account). A try still under way elsewhere reaches this process with its outcome.
   */
  async load(redis: Redis, prefix: string): Promise<void> {
    const all = await redis.hgetall(`${prefix}limits`).catch(() => ({}) as Record<string, string>);
    for (const text of Object.values(all)) {
      const limit = parseLimit(text);
      if (limit) this.known.set(pairKey(limit.account, limit.model), { ...limit, state: withoutTry(limit.state) });
    }
  }
}
