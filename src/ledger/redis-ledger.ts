import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { NoCandidatesError, QueueTimeoutError } from "./errors.js";
import { abortReason, type Clock } from "../util/clock.js";
import { onceReleased } from "./grant.js";
import type { LedgerStatus, SharedLimit, SlotGrant, SlotLedger, SlotRequest } from "./ledger.js";
import { redactUrl } from "../util/redact-url.js";
import { redisOptions } from "../util/redis-options.js";
import { SCRIPTS } from "./redis-scripts.js";
import { parseGrant, redisPairs, valuesOf, type GrantsMade, type Pending } from "./redis-status.js";
import { RedisLimits } from "./redis-limits.js";
import { RedisTold } from "./redis-told.js";
import { FallbackWaiters } from "./redis-fallback.js";
import { RedisLeases } from "./redis-leases.js";
import { pairKey } from "../limits/pair-key.js";

export { redisPairs } from "./redis-status.js";

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

export const DEFAULT_REDIS_PREFIX = "oc-zai-ledger:";

/**
 * Slots in Redis, shared by processes on every machine using the same server. Each change is one Lua script;
 * a release grants the next waiter in the same script and wakes its process over pub/sub. While Redis is
 * unreachable, requests use the fallback ledger (with one warning); ioredis reconnects by itself.
 */
export class RedisLedger implements SlotLedger {
  readonly kind = "redis" as const;
  private readonly owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private readonly leases: RedisLeases;
  private readonly outside: FallbackWaiters;
  private readonly limits = new RedisLimits();
  /** What Redis last received from this process: its caps, each waiter's candidate set. */
  private readonly told = new RedisTold();
  private counter = 0;
  private up = false;
  private warned = false;
  private closed = false;

  constructor(private readonly options: RedisLedgerOptions) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    const common = redisOptions(options.connectTimeoutMs);
    this.redis = new Redis(options.url, common);
    // Subscriptions are renewed here on every (re)connect, each with its own catch: ioredis's own renewal leaves
    // an unhandled rejection when the connection is closed meanwhile.
    this.sub = new Redis(options.url, { ...common, autoResubscribe: false });
    for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 0, lua });
    this.leases = new RedisLeases({
      clock: options.clock,
      ttl: options.leaseTtlMs ?? 10_000,
      channel: this.channel(),
      run: (name, ...args) => this.script(name, ...args),
      isUp: () => this.up && !this.closed,
      waitingModels: () => new Set([...this.pending.values()].map((p) => p.request.model)),
      onGrantMessage: (text) => this.onMessage(this.channel(), text),
      onGrants: (made) => this.take(made),
      onWarning: options.onWarning,
    });
    this.outside = new FallbackWaiters(options.fallback, this.leases);
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
    else await this.limits.load(this.redis, this.prefix);
    this.leases.start();
  }

  acquire<T>(request: SlotRequest, wrap: (grant: SlotGrant) => T): Promise<T> {
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.up) return this.outside.acquire(request, wrap, () => this.acquire(request, wrap));
    if (!valuesOf(request)) return Promise.reject(new NoCandidatesError());
    return new Promise<T>((resolve, reject) => {
      const started = this.options.clock.now();
      const seq = String(request.seq).padStart(12, "0");
      const id = `${this.owner}:${seq}:${++this.counter}`;
      const at = request.at ?? started;
      const pending: Pending = {
        id,
        request,
        at,
        started,
        sent: "",
        resolve: (g) => resolve(wrap(g)),
        reject,
        cleanup: () => {},
      };
      this.pending.set(pending.id, pending);
      const onAbort = () => this.drop(pending, abortReason(signal));
      const timeout = () => this.drop(pending, new QueueTimeoutError(this.options.clock.now() - started));
      const cancelTimer = this.options.clock.setTimer(timeout, request.timeoutMs);
      pending.cleanup = () => {
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.send(pending);
    });
  }

  /** Sends what changed since last time in one script: this process's caps, and waiters' candidate sets. */
  poke(): void {
    this.options.fallback.poke();
    const changes = this.told.changes([...this.pending.values()], (p) => this.drop(p, new NoCandidatesError()));
    if (!changes) return;
    const { capCount, args } = changes;
    void this.take(this.script<GrantsMade>("updateWaiters", this.channel(), capCount, ...args));
  }

  inFlight(account: string, model: string): number {
    return this.options.fallback.inFlight(account, model) + this.leases.count(account, model);
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
    void this.take(this.script<GrantsMade>("publishLimit", pairKey(limit.account, limit.model), JSON.stringify(limit)));
  }

  /** The state file is per machine: announced to its processes on the machine ledger (Redis has its own document). */
  announceState(): void {
    this.options.fallback.announceState();
  }

  onStateAnnounced(listener: () => void): void {
    this.options.fallback.onStateAnnounced(listener);
  }

  onLimit(listener: (limit: SharedLimit) => void): void {
    this.limits.listen(listener);
    this.options.fallback.onLimit(listener);
  }

  async status(): Promise<LedgerStatus> {
    if (!this.up) {
      const local = await this.options.fallback.status();
      return { ...local, detail: `Redis unreachable, using the ${local.kind} ledger: ${local.detail}` };
    }
    return {
      kind: "redis",
      detail: redactUrl(this.options.url),
      pairs: await redisPairs(this.redis, this.prefix, this.options.clock.now()),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.leases.stop();
    for (const pending of this.pending.values()) pending.cleanup();
    this.redis.disconnect();
    this.sub.disconnect();
    await this.options.fallback.close();
  }

  private channel(): string {
    return `${this.prefix}grant:${this.owner}`;
  }

  private script<R>(name: string, ...args: Array<string | number>): Promise<R> {
    const run = (this.redis as unknown as Record<string, (...a: Array<string | number>) => Promise<R>>)[name]!;
    return run.call(this.redis, this.prefix, this.options.clock.now(), this.leases.ttl, ...args);
  }

  /** Queues (or is granted at once) in Redis; its first arrival `at` keeps its place among every machine's waiters. */
  private send(pending: Pending): void {
    const values = valuesOf(pending.request);
    if (!values) return this.drop(pending, new NoCandidatesError());
    const known = this.told.acquire(pending, values);
    const { id, request, at, started } = pending;
    const cands = values.cands.join("\n");
    const deadline = started + request.timeoutMs;
    const caps = values.caps.join("\n");
    const args = [id, request.model, at, deadline, this.channel(), cands, caps, known ? "0" : "1"];
    const answer = this.script<GrantsMade>("acquireSlot", ...args);
    answer.then(
      (made) => this.take(Promise.resolve(made)),
      () => this.toFallback(pending),
    );
  }

  /**
   * Takes this process's grants from a script's answer at once (the same grants also come over pub/sub, later:
   * `granted` ignores the second). A slot freed here goes to a waiter here without the pub/sub round trip.
   */
  private take(answer: Promise<GrantsMade | number> | GrantsMade): Promise<void> {
    return Promise.resolve(answer).then(
      (made) => {
        if (!Array.isArray(made)) return;
        for (let i = 0; i + 1 < made.length; i += 2)
          if (made[i] === this.channel()) this.onMessage(made[i]!, made[i + 1]!);
      },
      () => {},
    );
  }

  private granted(text: string): void {
    const { id, account, others, deadline, model } = parseGrant(text);
    if (this.leases.holds(id)) return; // the same grant, seen twice (script answer and pub/sub)
    const pending = this.pending.get(id);
    // Timed out or aborted while the grant was on its way: give the slot back. (Also the pub/sub copy of a grant
    // taken from a script's answer and already released: then the slot is free and this frees nothing.)
    if (!pending) return this.leases.release(id, account, model);
    if (this.options.clock.now() >= deadline) {
      // Read after its lease's deadline (this process was suspended): Redis may have given the slot away.
      const claimed = (kept: boolean) =>
        kept ? this.hand(pending, account, others) : this.pending.has(id) && this.send(pending);
      void this.leases.claim(id, account, model).then(claimed);
      return;
    }
    this.hand(pending, account, others);
  }

  private hand(pending: Pending, account: string, others: number): void {
    if (!this.pending.delete(pending.id)) return;
    const { id, request } = pending;
    pending.cleanup();
    this.leases.hold(id, account, request.model);
    const free = () => this.leases.release(id, account, request.model);
    pending.resolve(onceReleased({ id, account, model: request.model, othersInFlight: others }, free));
  }

  private drop(pending: Pending, error: unknown): void {
    if (!this.pending.delete(pending.id)) return;
    pending.cleanup();
    pending.reject(error);
    void this.script("updateWaiters", this.channel(), 0, pending.id, pending.request.model, "").catch(() => {});
  }

  /** Redis failed under this waiter: it waits on the fallback ledger instead (until Redis is back). */
  private toFallback(pending: Pending): void {
    if (!this.pending.delete(pending.id)) return;
    pending.cleanup();
    const again = () => this.acquire(pending.request, (g) => g);
    this.outside.acquire(pending.request, (g) => g, again).then(pending.resolve, pending.reject);
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.channel()) this.granted(message);
    else this.limits.receive(message);
  }

  private setUp(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    if (up) {
      if (this.warned) this.options.onWarning("Redis is reachable again: slots are shared through Redis");
      this.warned = false;
      this.told.forget();
      // First thing on the new connection: the slots held here (and on the fallback meanwhile) are counted again.
      void this.leases.tick();
      this.outside.takeBack();
      return;
    }
    this.warnDown("connection lost");
    for (const pending of [...this.pending.values()]) this.toFallback(pending);
  }

  private warnDown(why: string): void {
    if (this.warned) return;
    this.warned = true;
    this.options.onWarning(
      `Redis ledger ${redactUrl(this.options.url)} unavailable (${why}); ` +
        `slots are shared through the ${this.options.fallback.kind} ledger until it is back`,
    );
  }
}
