import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SlotGrant } from "../../src/ledger/ledger.js";
import { RedisLedger } from "../../src/ledger/redis-ledger.js";
import { ACQUIRE, RELEASE } from "../../src/ledger/redis-scripts.js";
import { withoutTry } from "../../src/limits/adaptive-limit.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { QueueTimeoutError } from "../../src/ledger/errors.js";
import { systemClock } from "../../src/util/clock.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { request, until } from "./helpers.js";
import { redisAvailable, startRedis, type RedisServer } from "./redis-server.js";

const available = redisAvailable();
const ci = process.env.CI === "true";
if (!available && !ci)
  process.stderr.write(
    "\n*** Redis ledger tests SKIPPED: no redis-server here (apt-get install -y redis-server) ***\n\n",
  );

describe.skipIf(!available && !ci)("Redis ledger against a real redis-server", () => {
  let server: RedisServer;
  let n = 0;
  const open: RedisLedger[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
    await server?.stop();
  });
  /** A ledger as on its own machine: its own fallback, shared only through Redis. */
  async function ledger(prefix: string, warnings: string[] = [], leaseTtlMs = 10_000) {
    const l = new RedisLedger({
      url: server.url,
      clock: systemClock,
      fallback: SharedLedger.local(systemClock),
      onWarning: (m) => warnings.push(m),
      prefix,
      leaseTtlMs,
    });
    await l.start();
    open.push(l);
    return l;
  }
  const prefix = () => `test${++n}:`;

  it("one limit across machines; a release grants the other machine's waiter at once, first come first served", async () => {
    const p = prefix();
    const [a, b, c] = [await ledger(p), await ledger(p), await ledger(p)];
    const held = await a.acquire(request(["A"], 1), (g) => g);
    expect(held.othersInFlight).toBe(0);
    const order: string[] = [];
    let bGrant: SlotGrant | undefined;
    void b.acquire(request(["A"], 1), (g) => g).then((g) => (order.push("b"), (bGrant = g)));
    await new Promise((r) => setTimeout(r, 20));
    void c.acquire(request(["A"], 1), (g) => g).then((g) => (order.push("c"), g.release()));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    held.release();
    await until(() => order.length === 1);
    expect(order).toEqual(["b"]);
    bGrant!.release();
    await until(() => order.length === 2);
    expect(order).toEqual(["b", "c"]);
    const status = await a.status();
    expect(status.kind).toBe("redis");
    expect(status.pairs).toEqual([{ account: "A", model: "m", inFlight: 0, holders: [], queued: 0 }]);
  });

  it("a release answers with the grants it made, so the releasing process takes its own without the pub/sub round trip", async () => {
    const p = prefix();
    const redis = new Redis(server.url);
    redis.defineCommand("acquireSlot", { numberOfKeys: 0, lua: ACQUIRE });
    redis.defineCommand("releaseSlot", { numberOfKeys: 0, lua: RELEASE });
    const run = (name: string, ...args: Array<string | number>) =>
      (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]!(
        p,
        Date.now(),
        10_000,
        ...args,
      );
    // Waiter ids begin with their owner; its channel is <prefix>grant:<owner> (its caps are kept beside it).
    const acquire = (owner: string) =>
      run("acquireSlot", `${owner}:1:1`, "m", Date.now(), Date.now() + 10_000, `${p}grant:${owner}`, "A", "1");
    try {
      expect(await acquire("one")).toEqual([`${p}grant:one`, expect.stringMatching(/^one:1:1 A 0 \d+ m$/)]);
      expect(await acquire("two")).toEqual([]);
      expect(await run("releaseSlot", "one:1:1", "A", "m", `${p}grant:one`)).toEqual([
        `${p}grant:two`,
        expect.stringMatching(/^two:1:1 A 0 \d+ m$/),
      ]);
      expect(await run("releaseSlot", "two:1:1", "A", "m", `${p}grant:two`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it("a slot freed here reaches this process's own waiter from the script's answer, even with pub/sub down", async () => {
    const p = prefix();
    // The ledger's clock never moves: its periodic pick-up of missed grants never runs, so only the answer can deliver.
    const clock = new FakeClock();
    const a = new RedisLedger({
      url: server.url,
      clock,
      fallback: SharedLedger.local(clock),
      onWarning: () => {},
      prefix: p,
    });
    await a.start();
    open.push(a);
    const held = await a.acquire(request(["A"], 1), (g) => g);
    let next: SlotGrant | undefined;
    void a.acquire(request(["A"], 1), (g) => g).then((g) => (next = g));
    await until(async () => (await a.status()).pairs[0]?.queued === 1);
    const admin = new Redis(server.url);
    try {
      await admin.client("KILL", "TYPE", "pubsub"); // the grant's message will find nobody subscribed
      held.release();
      await until(() => next !== undefined, 2_000);
      expect(next!.account).toBe("A");
      next!.release();
    } finally {
      admin.disconnect();
    }
  });

  it("a timed-out waiter leaves the queue; status names holders", async () => {
    const p = prefix();
    const [a, b] = [await ledger(p), await ledger(p)];
    const held = await a.acquire(request(["A"], 1), (g) => g);
    await expect(b.acquire(request(["A"], 1, { timeoutMs: 50 }), (g) => g)).rejects.toBeInstanceOf(QueueTimeoutError);
    const status = await b.status();
    expect(status.pairs[0]).toMatchObject({ inFlight: 1, queued: 0, holders: [{ pid: process.pid }] });
    held.release();
    const next = await b.acquire(request(["A"], 1), (g) => g);
    expect(next.account).toBe("A");
  });

  it("a holder that stops refreshing (died) loses its slot after the lease TTL", async () => {
    const p = prefix();
    const dead = await ledger(p, [], 300);
    await dead.acquire(request(["A"], 1), (g) => g);
    await dead.close();
    const alive = await ledger(p, [], 300);
    const started = Date.now();
    const grant = await alive.acquire(request(["A"], 1), (g) => g);
    expect(grant.account).toBe("A");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("shares learned limits", async () => {
    const p = prefix();
    const [a, b] = [await ledger(p), await ledger(p)];
    const seen: number[] = [];
    b.onLimit((l) => seen.push(l.state.limit));
    a.publishLimit({
      account: "A",
      model: "m",
      state: {
        limit: 3,
        ceiling: 10,
        streak: 0,
        epoch: 1,
        confirmed: 3,
        probeFrom: undefined,
        probeAfter: 20,
        recoverTo: undefined,
        changedAt: 0,
      },
    });
    await until(() => seen.length === 1);
    expect(seen).toEqual([3]);
    const late = await ledger(p);
    const lateSeen: number[] = [];
    late.onLimit((l) => lateSeen.push(l.state.limit));
    expect(lateSeen).toEqual([3]); // loaded at start: known before the first request
  });

  /** Process `a` publishes a try of 4 (from 3) on a fresh prefix; `published` is what process `b` hears. */
  async function tryUnderWay() {
    const p = prefix();
    const [a, b] = [await ledger(p), await ledger(p)];
    const published: number[] = [];
    b.onLimit(({ state }) => published.push(state.limit));
    const trying = {
      limit: 4,
      ceiling: 10,
      streak: 0,
      epoch: 2,
      confirmed: 4,
      probeFrom: 3,
      probeAfter: 20,
      recoverTo: undefined,
      changedAt: 0,
    };
    a.publishLimit({ account: "A", model: "m", state: trying });
    await until(() => published.includes(4)); // stored before it is published
    return { p, a, published, trying };
  }

  it("a process joining later starts from the proven level, not from a try one higher stored by a process since gone", async () => {
    const { p, a } = await tryUnderWay();
    await a.close();
    const late = await ledger(p);
    const seen: Array<{ limit: number; confirmed: number; probeFrom: number | undefined }> = [];
    late.onLimit(({ state }) =>
      seen.push({ limit: state.limit, confirmed: state.confirmed, probeFrom: state.probeFrom }),
    );
    expect(seen).toEqual([{ limit: 3, confirmed: 3, probeFrom: undefined }]);
  });

  it("a process that joined during a try does not end it by publishing the level below at the same epoch", async () => {
    const { p, a, published, trying } = await tryUnderWay();
    const late = await ledger(p);
    late.publishLimit({ account: "A", model: "m", state: withoutTry(trying) }); // its first clean completion would
    const proven = { ...trying, probeFrom: undefined, streak: 3 };
    a.publishLimit({ account: "A", model: "m", state: { ...proven, streak: 4 } }); // proven: 4, same epoch
    await until(() => published.length === 2);
    late.publishLimit({ account: "A", model: "m", state: withoutTry(trying) }); // nor after the proof
    a.publishLimit({ account: "A", model: "m", state: { ...proven, streak: 5 } });
    await until(() => published.length === 3);
    expect(published).toEqual([4, 4, 4]);
  });

  it("never grants above the latest limit any process published, whatever cap a waiter was sent with", async () => {
    const p = prefix();
    const [a, b] = [await ledger(p), await ledger(p)];
    // A waiter computed cap 10 (configured, nothing learned yet); then another machine learned the real limit 2.
    const first = await b.acquire(request(["A"], 10), (g) => g);
    const seen: number[] = [];
    b.onLimit((l) => seen.push(l.state.limit));
    const learned = {
      limit: 2,
      ceiling: 10,
      streak: 0,
      epoch: 1,
      confirmed: 2,
      probeFrom: undefined,
      probeAfter: 20,
      recoverTo: undefined,
      changedAt: 0,
    };
    a.publishLimit({ account: "A", model: "m", state: learned });
    await until(() => seen.includes(2)); // stored in Redis before it is published
    const second = await b.acquire(request(["A"], 10), (g) => g);
    let third: SlotGrant | undefined;
    void b.acquire(request(["A"], 10), (g) => g).then((g) => (third = g));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBeUndefined();
    first.release();
    await until(() => third !== undefined);
    second.release();
    third!.release();
  });

  it("a limit far above the stored one (a process still on the configured limit) is neither stored nor published", async () => {
    const p = prefix();
    const [a, b] = [await ledger(p), await ledger(p)];
    const seen: number[] = [];
    b.onLimit((l) => seen.push(l.state.limit));
    const state = {
      limit: 3,
      ceiling: 10,
      streak: 0,
      epoch: 1,
      confirmed: 3,
      probeFrom: undefined,
      probeAfter: 20,
      recoverTo: undefined,
      changedAt: 0,
    };
    a.publishLimit({ account: "A", model: "m", state });
    await until(() => seen.includes(3));
    a.publishLimit({ account: "A", model: "m", state: { ...state, limit: 10, confirmed: 1, epoch: 0 } });
    a.publishLimit({ account: "A", model: "m", state: { ...state, limit: 4, epoch: 2 } });
    await until(() => seen.includes(4));
    expect(seen).not.toContain(10);
  });

  it("Redis killed mid-run: requests keep flowing on the fallback with a warning, and Redis is used again once back", async () => {
    const p = prefix();
    const warnings: string[] = [];
    const a = await ledger(p, warnings);
    const held = await a.acquire(request(["A"], 1), (g) => g);
    held.release();
    await server.kill();
    await until(() => warnings.length === 1);
    expect(warnings[0]).toContain("unavailable");
    const during = await a.acquire(request(["A"], 1), (g) => g);
    expect(during.account).toBe("A");
    during.release();
    expect((await a.status()).detail).toContain("unreachable");
    await server.restart();
    await until(async () => (await a.status()).kind === "redis", 10_000);
    expect(warnings[1]).toContain("reachable again");
    const after = await a.acquire(request(["A"], 1), (g) => g);
    after.release();
  });
});
