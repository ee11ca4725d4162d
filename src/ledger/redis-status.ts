import type { Redis } from "ioredis";
import type { PairStatus, SharedLimit, SlotGrant, SlotRequest } from "./ledger.js";
import { splitPair } from "../limits/pair-key.js";

/** A request of this process waiting in Redis. */
export interface Pending {
  id: string;
  request: SlotRequest;
  /** First arrival (orders it among every machine's waiters) and when this acquire began (its timeout). */
  at: number;
  started: number;
  sent: string;
  resolve(grant: SlotGrant): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** What a script that may grant answers: `[channel, message, ...]` of the grants it made. */
export type GrantsMade = string[];

/** A waiter's candidates in preference order and their caps (same order); none: no candidates. */
export function valuesOf(request: SlotRequest): { cands: string[]; caps: number[] } | undefined {
  const cands = [...request.candidates()];
  if (cands.length === 0) return undefined;
  return { cands, caps: cands.map((a) => request.cap(a)) };
}

/**
 * What a waiter's update must change in Redis: its set of candidates (its caps are its process's, sent apart). A
 * new preference order alone is not sent (it changes with every grant's load, and would cost one script per waiter
 * each time): the order sent last decides only between accounts that have room at once.
 */
export function candidateSet(cands: readonly string[]): string {
  return [...cands].sort().join("\n");
}

/** A limit message or stored limit; undefined when it is not one of ours. */
export function parseLimit(text: string): SharedLimit | undefined {
  try {
    const limit = JSON.parse(text) as SharedLimit;
    return typeof limit?.state?.limit === "number" ? limit : undefined;
  } catch {
    return undefined; // not ours
  }
}

/** A grant message: "<id> <account> <others> <lease deadline> <model>". */
export interface GrantMessage {
  id: string;
  account: string;
  others: number;
  deadline: number;
  model: string;
}

export function parseGrant(text: string): GrantMessage {
  const [id = "", account = "", others = "0", deadline = "0", ...model] = text.split(" ");
  return { id, account, others: Number(others), deadline: Number(deadline), model: model.join(" ") };
}

/** Every pair's live leases, holders and queued waiters (counted on their first candidate), read from Redis. */
export async function redisPairs(redis: Redis, prefix: string, now: number): Promise<PairStatus[]> {
  const pairs = await redis.smembers(`${prefix}pairs`);
  const out: PairStatus[] = [];
  for (const pair of pairs) {
    const { account, model } = splitPair(pair);
    const ids = await redis.zrangebyscore(`${prefix}l:${account}:${model}`, now, "+inf");
    const unique = new Map<string, { host: string; pid: number }>();
    for (const id of ids) {
      // "<host>-<pid>-<random>:..." (a waiter's id), or "<prefix>grant:<host>-<pid>-<random>:fallback:<n>"
      const owner = /(?:^|grant:)([^:]+)-(\d+)-[0-9a-f]{8}:/.exec(id);
      if (owner) unique.set(`${owner[1]} ${owner[2]}`, { host: owner[1]!, pid: Number(owner[2]) });
    }
    let queued = 0;
    for (const id of await redis.zrange(`${prefix}qa:${account}:${model}`, 0, 199)) {
      const cands = await redis.hget(`${prefix}w:${id}`, "cands");
      if (cands?.split("\n")[0] === account) queued++;
    }
    out.push({ account, model, inFlight: ids.length, holders: [...unique.values()], queued });
  }
  return out;
}
