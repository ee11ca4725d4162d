import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SlotGrant } from "../../src/ledger/ledger.js";
import { RedisLedger } from "../../src/ledger/redis-ledger.js";
import { SCRIPTS } from "../../src/ledger/redis-scripts.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { systemClock, type Clock } from "../../src/util/clock.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { request, until } from "./helpers.js";
import { redisAvailable, startRedis, type RedisServer } from "./redis-server.js";

const available = redisAvailable();
const ci = process.env.CI === "true";
if (!available && !ci)
  process.stderr.write(
    "\n*** Redis lease tests SKIPPED: no redis-server here (apt-get install -y redis-server) ***\n\n",
  );

describe.skipIf(!available && !ci)("Redis leases: suspended holders and restarts, against a real redis-server", () => {
  let server: RedisServer;
  let admin: Redis;
  let n = 0;
  const open: RedisLedger[] = [];
  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    admin.on("error", () => {}); // while the server restarts
    for (const [name, lua] of Object.entries(SCRIPTS)) admin.defineCommand(name, { numberOfKeys: 0, lua });
  });
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
    admin?.disconnect();
    await server?.stop();
  });
  async function ledger(prefix: string, clock = systemClock, warnings: string[] = [], leaseTtlMs = 10_000) {
    const l = new RedisLedger({
      url: server.url,
      clock,
      fallback: SharedLedger.local(clock),
      onWarning: (m) => warnings.push(m),
      prefix,
      leaseTtlMs,
    });
    await l.start();
    open.push(l);
    return l;
  }
  const script = (name: string, ...args: Array<string | number>) =>
    (admin as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]!(...args);

  it("a holder suspended past its lease TTL re-checks its leases first: one Redis gave away is counted again", async () => {
    const p = `leases${++n}:`;
    // Its clock: time jumps while it does not run, and its timers fire late (as after SIGSTOP / SIGCONT).
    const fake = new FakeClock(Date.now(), { autoAdvance: false });
    let skew = 0;
    const clock: Clock = {
      now: () => fake.now() + skew,
      sleep: (ms, s) => fake.sleep(ms, s),
      setTimer: (fn, ms) => fake.setTimer(fn, ms),
    };
    const warnings: string[] = [];
    const suspended = await ledger(p, clock, warnings, 3_000);
    const held = await suspended.acquire(request(["A"], 1), (g) => g);
    // While it did not run, its lease expired in Redis and the slot went to another machine's request.
    await admin.del(`${p}l:A:m`, `${p}exp`);
    const other = await ledger(p);
    const taken = await other.acquire(request(["A"], 1), (g) => g);
    skew = 3_500;
    fake.advance(1_000); // it runs again: its tick, 3.5 s late, finds the lease gone
    await until(() => warnings.length === 1);
    expect(warnings[0]).toMatch(
      /^1 slot\(s\) held here had expired in Redis: this process did not run for \d+ s \(suspended\?\)/,
    );
    expect(await admin.zcard(`${p}l:A:m`)).toBe(2); // its request may still run at Z.AI: counted, above the cap
    taken.release();
    let next: SlotGrant | undefined;
    void other.acquire(request(["A"], 1), (g) => g).then((g) => (next = g));
    await until(async () => (await admin.zcard(`${p}l:A:m`)) === 1);
    expect(next).toBeUndefined(); // one still counted: nothing granted above the limit
    held.release();
    await until(() => next !== undefined);
    next!.release();
  });

  it("a grant read after its lease's deadline is claimed again: kept if Redis still has it, else queued anew", async () => {
    const p = `claim${++n}:`;
    const ch = `${p}grant:o1`;
    const now = 1_000_000;
    const made = (await script(
      "acquireSlot",
      p,
      now,
      1_000,
      "o1:1:x",
      "m",
      now,
      now + 60_000,
      ch,
      "A",
      "1",
    )) as string[];
    expect(made[1]).toMatch(/^o1:1:x A 0 1001000 m$/);
    expect(await script("claimGrant", p, now + 500, 1_000, "o1:1:x", "A", "m")).toBe(1); // still there: extended
    expect(Number(await admin.zscore(`${p}l:A:m`, "o1:1:x"))).toBe(now + 1_500);
    expect(await script("claimGrant", p, now + 2_000, 1_000, "o1:1:x", "A", "m")).toBe(0); // past it: not taken
    expect(await admin.zcard(`${p}l:A:m`)).toBe(0);
  });

  it("Redis restarted under load: every request answered, never above the limit once it is back", async () => {
    const p = `restart${++n}:`;
    const warnA: string[] = [];
    const warnB: string[] = [];
    const [a, b] = [await ledger(p, systemClock, warnA), await ledger(p, systemClock, warnB)];
    const bothSay = (text: string) => [warnA, warnB].every((w) => w.some((m) => m.includes(text)));
    let inFlight = 0;
    let highest = 0;
    let answered = 0;
    let back = false;
    let highestAfter = 0;
    const work = async (l: RedisLedger) => {
      for (let i = 0; i < 15; i++) {
        const grant = await l.acquire(request(["A"], 2), (g) => g);
        inFlight++;
        highest = Math.max(highest, inFlight);
        if (back) highestAfter = Math.max(highestAfter, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        grant.release();
        answered++;
      }
    };
    const all = Promise.all([work(a), work(a), work(a), work(b), work(b), work(b)]);
    await until(() => answered >= 10);
    await server.kill();
    await until(() => bothSay("unavailable"));
    await server.restart();
    // Each machine counts only its own slots until it is back on Redis; from then on, Redis counts them all.
    await until(() => bothSay("reachable again"), 10_000);
    back = true;
    await all;
    expect(answered).toBe(90);
    expect(highestAfter).toBeLessThanOrEqual(2);
    // Nothing left behind: every lease released, nobody queued.
    await until(async () => (await admin.zcard(`${p}l:A:m`)) === 0);
  });
});
