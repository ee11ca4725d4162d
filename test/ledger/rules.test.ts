import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keysFileSchema } from "../../src/lib.js";
import { acceptsLimit, type SlotGrant } from "../../src/ledger/ledger.js";
import { SCRIPTS } from "../../src/ledger/redis-scripts.js";
import { SlotTable } from "../../src/ledger/slot-table.js";
import type { LimitState } from "../../src/limits/adaptive-limit.js";
import { Limits } from "../../src/limits/limits.js";
import { machine, testAddress } from "./helpers.js";
import { redisAvailable, startRedis, type RedisServer } from "./redis-server.js";
import { LIMIT_CASES, RULE_CASES, type RuleCase, type RuleStep } from "./rules.cases.js";

/** One ledger under the same rows: each operation resolves once every grant it made is known. */
interface Runner {
  publish(account: string, limit: number): Promise<void>;
  run(step: RuleStep): Promise<void>;
  /** Grants made since the last call, "waiter@account". */
  drain(): string[];
  close(): Promise<void>;
}

const limitState = (limit: number): LimitState => ({
  limit,
  ceiling: 10,
  streak: 0,
  epoch: 1,
  confirmed: limit,
  probeFrom: undefined,
  probeAfter: 20,
  recoverTo: undefined,
  changedAt: 0,
});

async function check(runner: Runner, row: RuleCase): Promise<void> {
  try {
    for (const [account, limit] of Object.entries(row.limits ?? {})) await runner.publish(account, limit);
    for (const [i, { step, grants }] of row.steps.entries()) {
      await runner.run(step);
      expect(runner.drain().sort(), `step ${i + 1}: ${JSON.stringify(step)}`).toEqual([...grants].sort());
    }
  } finally {
    await runner.close();
  }
}

function tableRunner(): Runner {
  const limits = new Map<string, number>();
  const table = new SlotTable((account) => limits.get(account));
  let grants: string[] = [];
  return {
    publish: async (account, limit) => void limits.set(account, limit),
    run: async (step) => {
      if ("release" in step) return table.release(step.release);
      if ("cancel" in step) return table.cancel(step.cancel);
      const { acquire: name, cands, cap } = step;
      table.acquire({
        id: name,
        owner: `p${step.p ?? 1}`,
        model: "m",
        at: step.at,
        seq: step.seq,
        candidates: () => cands,
        cap: (a) => cap[a] ?? 0,
        grant: (a) => void grants.push(`${name}@${a}`),
        reject: () => {},
      });
    },
    drain: () => [grants, (grants = [])][0]!,
    close: async () => {},
  };
}

/** A real machine coordinator (process 1) and a client of it (process 2), on a socket in a temp directory. */
async function machineRunner(): Promise<Runner> {
  const address = testAddress();
  const p1 = await machine(address);
  const p2 = await machine(address);
  const ledgers = { 1: p1, 2: p2 };
  const held = new Map<string, SlotGrant>();
  const aborts = new Map<string, AbortController>();
  let grants: string[] = [];
  // Process 2's messages are handled in order, and grants go out before the answer to a status request.
  const settle = async () => {
    await p2.status();
    await p1.status();
  };
  return {
    publish: async (account, limit) => {
      p1.publishLimit({ account, model: "m", state: limitState(limit) });
      await settle();
    },
    run: async (step) => {
      if ("release" in step) held.get(step.release)!.release();
      else if ("cancel" in step) aborts.get(step.cancel)!.abort();
      else {
        const { acquire: name, cands, cap } = step;
        const abort = new AbortController();
        aborts.set(name, abort);
        const request = {
          model: "m",
          seq: step.seq,
          at: step.at,
          candidates: () => cands,
          cap: (a: string) => cap[a] ?? 0,
          signal: abort.signal,
          timeoutMs: 60_000,
        };
        ledgers[step.p ?? 1]
          .acquire(request, (g) => g)
          .then(
            (g) => (held.set(name, g), grants.push(`${name}@${g.account}`)),
            () => {},
          );
      }
      await settle();
    },
    drain: () => [grants, (grants = [])][0]!,
    close: async () => {
      await p2.close();
      await p1.close();
    },
  };
}

/** The Redis scripts run directly, as two processes would (their channels, their ids), on a fixed clock. */
function redisRunner(redis: Redis, prefix: string): Runner {
  const now = 1_000_000;
  const run = (name: string, ...args: Array<string | number>) =>
    (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name]!(
      prefix,
      now,
      60_000,
      ...args,
    );
  const ch = (p: number) => `${prefix}grant:o${p}`;
  const leases = new Map<string, { id: string; account: string; p: number }>();
  const ids = new Map<string, { id: string; p: number }>();
  let grants: string[] = [];
  const take = (made: unknown) => {
    const list = made as string[];
    for (let i = 0; i + 1 < list.length; i += 2) {
      const [id = "", account = ""] = list[i + 1]!.split(" ");
      const name = id.split(":")[2]!;
      leases.set(name, { id, account, p: Number(list[i]!.slice(-1)) });
      grants.push(`${name}@${account}`);
    }
  };
  return {
    publish: async (account, limit) => {
      await run("publishLimit", `${account}\u0000m`, JSON.stringify({ account, model: "m", state: limitState(limit) }));
    },
    run: async (step) => {
      if ("release" in step) {
        const lease = leases.get(step.release)!;
        return take(await run("releaseSlot", lease.id, lease.account, "m", ch(lease.p)));
      }
      if ("cancel" in step) {
        const waiter = ids.get(step.cancel)!;
        return take(await run("updateWaiters", ch(waiter.p), 0, waiter.id, "m", ""));
      }
      const p = step.p ?? 1;
      const id = `o${p}:${String(step.seq).padStart(12, "0")}:${step.acquire}`;
      ids.set(step.acquire, { id, p });
      const caps = step.cands.map((a) => step.cap[a] ?? 0).join("\n");
      take(await run("acquireSlot", id, "m", step.at, now + 60_000, ch(p), step.cands.join("\n"), caps));
    },
    drain: () => [grants, (grants = [])][0]!,
    close: async () => {},
  };
}

describe("the grant rules, one table against every ledger", () => {
  for (const row of RULE_CASES) {
    it(`in-process slot table: ${row.name}`, () => check(tableRunner(), row));
    it(`machine coordinator over a socket: ${row.name}`, async () => check(await machineRunner(), row));
  }
});

describe("which published limit is taken, one table for every store and Limits.replace", () => {
  const settings = (limit: number) => {
    const {
      keys: _k,
      $schema: _s,
      ...rest
    } = keysFileSchema.parse({ models: { m: { maxConcurrency: limit, ceiling: 10 } } });
    return rest;
  };
  for (const c of LIMIT_CASES) {
    it(`acceptsLimit: ${c.name}`, () => expect(acceptsLimit(c.known, c.incoming)).toBe(c.taken));
    it(`Limits.replace: ${c.name}`, () => {
      const limits = new Limits(settings(c.known?.limit ?? 10));
      if (c.known) limits.replace("A", "m", c.known);
      const before = limits.get("A", "m");
      limits.replace("A", "m", c.incoming);
      const after = limits.get("A", "m");
      expect({ limit: after.limit, epoch: after.epoch }).toEqual(
        c.taken ? { limit: c.incoming.limit, epoch: c.incoming.epoch } : { limit: before.limit, epoch: before.epoch },
      );
    });
    it(`machine coordinator: ${c.name}`, async () => {
      const address = testAddress();
      const [p1, p2] = [await machine(address), await machine(address)];
      const seen: LimitState[] = [];
      p1.onLimit(({ state }) => seen.push(state));
      if (c.known) p2.publishLimit({ account: "A", model: "m", state: c.known });
      p2.publishLimit({ account: "A", model: "m", state: c.incoming });
      await p2.status();
      expect(
        seen.at(-1) === undefined
          ? false
          : seen.at(-1)!.limit === c.incoming.limit &&
              seen.at(-1)!.epoch === c.incoming.epoch &&
              seen.length === (c.known ? 2 : 1),
      ).toBe(c.taken);
      await p2.close();
      await p1.close();
    });
  }
});

const available = redisAvailable();
const ci = process.env.CI === "true";
if (!available && !ci)
  process.stderr.write(
    "\n*** rule table against Redis SKIPPED: no redis-server here (apt-get install -y redis-server) ***\n\n",
  );

// Under CI=true a missing redis-server fails here (startRedis throws) instead of skipping.
describe.skipIf(!available && !ci)("the grant rules against the Redis scripts on a real redis-server", () => {
  let server: RedisServer;
  let redis: Redis;
  let n = 0;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  for (const row of RULE_CASES) it(`Redis scripts: ${row.name}`, () => check(redisRunner(redis, `rules${++n}:`), row));
  for (const c of LIMIT_CASES) {
    it(`Redis PUBLISH_LIMIT: ${c.name}`, async () => {
      const prefix = `limits${++n}:`;
      const publish = (state: LimitState) =>
        (redis as unknown as { publishLimit(...a: Array<string | number>): Promise<unknown> }).publishLimit(
          prefix,
          0,
          60_000,
          "A\u0000m",
          JSON.stringify({ account: "A", model: "m", state }),
        );
      if (c.known) expect(await publish(c.known)).not.toBe(0);
      expect((await publish(c.incoming)) !== 0).toBe(c.taken);
    });
  }
});
