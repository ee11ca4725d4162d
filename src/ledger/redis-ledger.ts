import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { NoCandidatesError, QueueTimeoutError } from "../scheduler/errors.js";
import { abortReason, type Clock } from "../util/clock.js";
import { onceReleased } from "./grant.js";
import type { LedgerStatus, PairStatus, SharedLimit, SlotGrant, SlotLedger, SlotRequest } from "./ledger.js";
import { redactUrl } from "../util/redact-url.js";
import { redisOptions } from "../util/redis-options.js";
import { withoutTry } from "../scheduler/adaptive-limit.js";
import { ACQUIRE, DISPATCH, PUBLISH_LIMIT, REFRESH, RELEASE, TAKE_GRANT, UPDATE } from "./redis-scripts.js";

export interface RedisLedgerOptions {
  url: string;
  clock: Clock;
  /** Where slots go while Redis is unreachable (the machine ledger). */
  fallback: SlotLedger;
  onWarning: (message: string) => void;
  prefix?: string;
  /** A lease not refreshed for this long is free again (its holder died). */
  leaseTtlMs?: number;
  connectTimeoutMs?: number;
}

interface Pending {
  id: string;
  request: SlotRequest;
  sent: string;
  resolve(grant: SlotGrant): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** ACQUIRE and TAKE_GRANT: the grant `[account, others]`, or none. */
type GrantResult = [string, number] | null;
/** RELEASE, UPDATE, DISPATCH: `[channel, message, ...]` of the grants the script made (see dispatch in redis-scripts). */
type GrantsMade = string[];

export const DEFAULT_REDIS_PREFIX = "oc-zai-ledger:";

/**
 * Slots in Redis, shared by processes on every machine using the same server. Each change is one Lua script;
 * a release grants the next waiter in the same script and wakes its process over pub/sub. While Redis is
 * unreachable, requests use the fallback ledger (with one warning); ioredis reconnects by itself.
 */
export class RedisLedger implements SlotLedger {
  readonly kind = "redis" as const;
  private readonly owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly holder = `${hostname()} ${process.pid}`;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly pending = new Map<string, Pending>();
  private readonly held = new Map<string, { account: string; model: string }>();
  private readonly listeners: Array<(limit: SharedLimit) => void> = [];
  private readonly limits = new Map<string, SharedLimit>();
  private counter = 0;
  private up = false;
  private warned = false;
  private closed = false;
  private cancelTick: (() => void) | undefined;

  constructor(private readonly options: RedisLedgerOptions) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.ttl = options.leaseTtlMs ?? 10_000;
    const common = redisOptions(options.connectTimeoutMs);
    this.redis = new Redis(options.url, common);
    // Subscriptions are renewed here on every (re)connect, each with its own catch: ioredis's own renewal leaves
    // an unhandled rejection when the connection is closed meanwhile.
    this.sub = new Redis(options.url, { ...common, autoResubscribe: false });
    for (const [name, lua] of Object.entries({ acquireSlot: ACQUIRE, releaseSlot: RELEASE, updateWaiter: UPDATE, dispatchQueue: DISPATCH, refreshLeases: REFRESH, takeGrant: TAKE_GRANT, publishLimit: PUBLISH_LIMIT })) {
      this.redis.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.redis.on("error", () => {});
    this.sub.on("error", () => {});
    this.redis.on("ready", () => this.setUp(true));
    this.redis.on("close", () => this.setUp(false));
    this.sub.on("message", (channel: string, message: string) => this.onMessage(channel, message));
    this.sub.on("ready", () => void this.sub.subscribe(this.channel(), `${this.prefix}limits`).catch(() => {}));
  }

  /** Connects (bounded by connectTimeoutMs); on failure, works on the fallback and keeps reconnecting. */
  async start(): Promise<void> {
    await Promise.all([this.sub.connect().catch(() => {}), this.redis.connect().catch(() => {})]);
    // The 'ready' handler subscribed; make sure it is done before the first acquire can be granted over pub/sub.
    if (this.sub.status === "ready") await this.sub.subscribe(this.channel(), `${this.prefix}limits`).catch(() => {});
    if (!this.up) this.warnDown("cannot connect");
    else await this.loadLimits();
    this.tick();
  }

  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T): Promise<T> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.up) return this.options.fallback.acquire(request, wrap);
    const values = valuesOf(request);
    if (!values) return Promise.reject(new NoCandidatesError());
    return new Promise<T>((resolve, reject) => {
      const started = this.options.clock.now();
      const pending: Pending = { id: `${this.owner}:${++this.counter}`, request, sent: JSON.stringify(values), resolve: (g) => resolve(wrap(g)), reject, cleanup: () => {} };
      this.pending.set(pending.id, pending);
      const onAbort = () => this.drop(pending, abortReason(signal));
      const cancelTimer = this.options.clock.setTimer(() => this.drop(pending, new QueueTimeoutError(this.options.clock.now() - started)), request.timeoutMs);
      pending.cleanup = () => {
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const waiter = JSON.stringify({ ch: this.channel(), holder: this.holder, ...values });
      this.script("acquireSlot", pending.id, request.model, waiter, started + request.timeoutMs).then(
        (result) => {
          if (result) this.granted(pending.id, result[0], Number(result[1]));
        },
        () => this.toFallback(pending),
      );
    });
  }

  poke(): void {
    this.options.fallback.poke();
    for (const pending of [...this.pending.values()]) {
      const values = valuesOf(pending.request);
      if (!values) {
        this.drop(pending, new NoCandidatesError());
        continue;
      }
      const text = JSON.stringify(values);
      if (text === pending.sent) continue;
      pending.sent = text;
      const waiter = JSON.stringify({ ch: this.channel(), holder: this.holder, ...values });
      void this.dispatched(this.script<GrantsMade>("updateWaiter", pending.id, pending.request.model, waiter));
    }
  }

  inFlight(account: string, model: string): number {
    let count = this.options.fallback.inFlight(account, model);
    for (const lease of this.held.values()) if (lease.account === account && lease.model === model) count++;
    return count;
  }

  waiting(model?: string): number {
    let count = this.options.fallback.waiting(model);
    for (const pending of this.pending.values()) if (model === undefined || pending.request.model === model) count++;
    return count;
  }

  publishLimit(limit: SharedLimit): void {
    this.options.fallback.publishLimit(limit);
    if (!this.up) return;
    // Stored and published unless it is a stale one (PUBLISH_LIMIT, acceptsLimit).
    void this.script("publishLimit", `${limit.account}\u0000${limit.model}`, JSON.stringify(limit)).catch(() => {});
  }

  /** The state file is per machine: announced to its processes on the machine ledger (Redis has its own document). */
  announceState(): void {
    this.options.fallback.announceState();
  }

  onStateAnnounced(listener: () => void): void {
    this.options.fallback.onStateAnnounced(listener);
  }

  onLimit(listener: (limit: SharedLimit) => void): void {
    this.listeners.push(listener);
    for (const limit of this.limits.values()) listener(limit);
    this.options.fallback.onLimit(listener);
  }

  async status(): Promise<LedgerStatus> {
    if (!this.up) {
      const local = await this.options.fallback.status();
      return { ...local, detail: `Redis unreachable, using the ${local.kind} ledger: ${local.detail}` };
    }
    return { kind: "redis", detail: redactUrl(this.options.url), pairs: await redisPairs(this.redis, this.prefix, this.options.clock.now()) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelTick?.();
    for (const pending of this.pending.values()) pending.cleanup();
    this.redis.disconnect();
    this.sub.disconnect();
    await this.options.fallback.close();
  }

  private channel(): string {
    return `${this.prefix}grant:${this.owner}`;
  }

  private script<R = GrantResult>(name: string, ...args: Array<string | number>): Promise<R> {
    const run = (this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<R>>)[name]!;
    return run.call(this.redis, this.prefix, this.options.clock.now(), this.ttl, ...args);
  }

  /**
   * Takes this process's grants from a script's answer at once (the same grants also come over pub/sub, later:
   * `granted` ignores the second). A slot freed here goes to a waiter here without the pub/sub round trip.
   */
  private dispatched(answer: Promise<GrantsMade>): Promise<void> {
    return answer.then(
      (made) => {
        if (!Array.isArray(made)) return;
        for (let i = 0; i + 1 < made.length; i += 2) if (made[i] === this.channel()) this.onMessage(made[i]!, made[i + 1]!);
      },
      () => {},
    );
  }

  private releaseSlot(id: string, account: string, model: string): void {
    void this.dispatched(this.script<GrantsMade>("releaseSlot", id, account, model));
  }

  private granted(id: string, account: string, others: number, grantedModel?: string): void {
    if (this.held.has(id)) return; // the same grant, seen twice (script answer and pub/sub)
    const pending = this.pending.get(id);
    if (!pending) {
      // Timed out or aborted while the grant was on its way: give the slot back. (Also the pub/sub copy of a grant
      // taken from a script's answer and already released: then the slot is free and this frees nothing.)
      if (grantedModel !== undefined) this.releaseSlot(id, account, grantedModel);
      return;
    }
    const model = pending.request.model;
    this.pending.delete(id);
    pending.cleanup();
    this.held.set(id, { account, model });
    pending.resolve(
      onceReleased({ id, account, model, othersInFlight: others }, () => {
        this.held.delete(id);
        this.releaseSlot(id, account, model);
      }),
    );
  }

  private drop(pending: Pending, error: unknown): void {
    if (!this.pending.delete(pending.id)) return;
    pending.cleanup();
    pending.reject(error);
    void this.script("updateWaiter", pending.id, pending.request.model, "").catch(() => {});
  }

  /** Redis failed under this waiter: it waits on the fallback ledger instead. */
  private toFallback(pending: Pending): void {
    if (!this.pending.delete(pending.id)) return;
    pending.cleanup();
    this.options.fallback.acquire(pending.request, (g) => g).then(pending.resolve, pending.reject);
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.channel()) {
      const [id = "", account = "", others = "0", ...model] = message.split(" ");
      return this.granted(id, account, Number(others), model.join(" "));
    }
    const limit = parseLimit(message);
    if (!limit) return;
    this.limits.set(`${limit.account}\u0000${limit.model}`, limit);
    for (const listener of this.listeners) listener(limit);
  }

  private setUp(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    if (up) {
      if (this.warned) this.options.onWarning("Redis is reachable again: slots are shared through Redis");
      this.warned = false;
      return;
    }
    this.warnDown("connection lost");
    for (const pending of [...this.pending.values()]) this.toFallback(pending);
  }

  private warnDown(why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.options.onWarning(`Redis ledger ${redactUrl(this.options.url)} unavailable (${why}); slots are shared through the ${this.options.fallback.kind} ledger until it is back`);
  }

  /**
   * The limits learned so far, at their proven levels: a try one higher stored by a process that may have exited
   * since would otherwise be this one's first step (measured: the lone process after a shared run began with a
   * 1302 on each account). A try still under way elsewhere reaches this process with its outcome.
   */
  private async loadLimits(): Promise<void> {
    const all = await this.redis.hgetall(`${this.prefix}limits`).catch(() => ({}) as Record<string, string>);
    for (const text of Object.values(all)) {
      const limit = parseLimit(text);
      if (limit) this.limits.set(`${limit.account}\u0000${limit.model}`, { ...limit, state: withoutTry(limit.state) });
    }
  }

  /** Keeps held leases alive, frees slots of dead holders, and picks up grants a lost message did not deliver. */
  private tick(): void {
    if (this.closed) return;
    this.cancelTick = this.options.clock.setTimer(() => {
      void this.refresh().finally(() => this.tick());
    }, Math.max(50, Math.floor(this.ttl / 3)));
  }

  private async refresh(): Promise<void> {
    if (!this.up) return;
    const byPair = new Map<string, { account: string; model: string; ids: string[] }>();
    for (const [id, lease] of this.held) {
      const key = `${lease.account}\u0000${lease.model}`;
      const entry = byPair.get(key) ?? { ...lease, ids: [] };
      entry.ids.push(id);
      byPair.set(key, entry);
    }
    const models = new Set<string>();
    for (const pending of this.pending.values()) models.add(pending.request.model);
    try {
      for (const pair of byPair.values()) await this.script("refreshLeases", pair.account, pair.model, ...pair.ids);
      for (const model of models) await this.dispatched(this.script<GrantsMade>("dispatchQueue", model));
      for (const pending of [...this.pending.values()]) {
        const result = await this.script("takeGrant", pending.id);
        if (result) this.granted(pending.id, result[0], Number(result[1]));
      }
    } catch {
      // Redis went away: `close` moves waiters to the fallback.
    }
  }
}

function parseLimit(text: string): SharedLimit | undefined {
  try {
    const limit = JSON.parse(text) as SharedLimit;
    return typeof limit?.state?.limit === "number" ? limit : undefined;
  } catch {
    return undefined; // not ours
  }
}

function valuesOf(request: SlotRequest): { cands: string[]; caps: Record<string, number> } | undefined {
  const cands = [...request.candidates()];
  if (cands.length === 0) return undefined;
  const caps: Record<string, number> = {};
  for (const account of cands) caps[account] = request.cap(account);
  return { cands, caps };
}

/** Every pair's live leases, holders and queued waiters, read from Redis. */
export async function redisPairs(redis: Redis, prefix: string, now: number): Promise<PairStatus[]> {
  const pairs = await redis.smembers(`${prefix}pairs`);
  const out: PairStatus[] = [];
  for (const pair of pairs) {
    const [account = "", model = ""] = pair.split("\u0000");
    const ids = await redis.zrangebyscore(`${prefix}l:${account}:${model}`, now, "+inf");
    const holders = ids.length > 0 ? await redis.hmget(`${prefix}h:${account}:${model}`, ...ids) : [];
    const unique = new Map<string, { host: string; pid: number }>();
    for (const text of holders) {
      if (!text) continue;
      const [host = "", pid = "0"] = text.split(" ");
      unique.set(text, { host, pid: Number(pid) });
    }
    let queued = 0;
    for (const id of await redis.lrange(`${prefix}q:${model}`, 0, 199)) {
      const raw = await redis.get(`${prefix}w:${id}`);
      if (raw && (JSON.parse(raw) as { cands?: string[] }).cands?.[0] === account) queued++;
    }
    out.push({ account, model, inFlight: ids.length, holders: [...unique.values()], queued });
  }
  return out;
}
