import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { nodeConfigIO } from "../../src/config/node-io.js";
import { normalizeRequest } from "../../src/fetch/request.js";
import { systemClock } from "../../src/util/clock.js";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { until } from "./helpers.js";
import { redisAvailable, startRedis, type RedisServer } from "./redis-server.js";
import { ready } from "../helpers/ready.js";

const available = redisAvailable();
const ci = process.env.CI === "true";

/**
 * Two engines as on two machines: each its own HOME, keys file copy and state file; only ZAI_REDIS_URL shared.
 * What one learns about keys and accounts (a 1308 window, a revoked key) the other knows without asking upstream.
 */
describe.skipIf(!available && !ci)("pool state shared across machines through Redis", () => {
  let redis: RedisServer;
  let sim: Simulator;
  const engines: Engine[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await sim?.close();
  });

  /** `db`: a Redis database of its own per test. */
  async function machine(db: number): Promise<Engine> {
    const home = await mkdtemp(join(tmpdir(), "zai-redis-state-"));
    const keysFile = join(home, "zai-keys.json");
    const keys = [
      { id: "a1", apiKey: "sk-state-a1", account: "alpha" },
      { id: "b1", apiKey: "sk-state-b1", account: "beta" },
      { id: "b2", apiKey: "sk-state-b2", account: "beta" },
    ];
    await writeFile(keysFile, JSON.stringify({ keys, models: { "glm-4.7": { maxConcurrency: 2 } } }), { mode: 0o600 });
    const io = nodeConfigIO({
      HOME: home,
      ZAI_KEYS_FILE: keysFile,
      ZAI_STATE_FILE: join(home, "state.json"),
      ZAI_REDIS_URL: `${redis.url}/${db}`,
    });
    const engine = await createEngine(
      "zai-coding-plan",
      { clock: systemClock, random: () => 0.5, fetch: globalThis.fetch, io, sink: { log: () => {}, toast: () => {} } },
      undefined,
    );
    engines.push(engine);
    return engine;
  }
  const chat = async (engine: Engine) => {
    const init = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "glm-4.7", messages: [{ role: "user", content: "hi" }], stream: false }),
    };
    const response = await ready(engine).lifecycle.run(await normalizeRequest(`${sim.url}/chat/completions`, init));
    await response.text();
    return response;
  };

  it("an account cooling until its 1308 reset on one machine is skipped by the other, also one that starts later", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-state-a1"], limits: { "glm-4.7": 2 } },
        { id: "beta", keys: ["sk-state-b1", "sk-state-b2"], limits: { "glm-4.7": 2 } },
      ],
    });
    const one = await machine(1);
    const two = await machine(1);
    sim.setUsageWindow("alpha", { requests: 0, resetAt: Date.now() + 3_600_000 });
    expect((await chat(one)).status).toBe(200); // alpha answered 1308, beta served
    const alphaHits = () => sim.stats().byAccount.alpha ?? 0;
    expect(alphaHits()).toBe(1);
    // The other machine learns it over pub/sub, and one started afterwards reads it at start.
    await until(() => ready(two).core.pool.state.accountCooldowns.has("alpha"));
    const three = await machine(1);
    expect(ready(three).core.pool.state.accountCooldowns.has("alpha")).toBe(true);
    for (const engine of [two, three, two, three]) expect((await chat(engine)).status).toBe(200);
    expect(alphaHits()).toBe(1);
  });

  it("a key revoked (401) on one machine is disabled on the other without a request of its own", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-state-a1"], limits: { "glm-4.7": 2 } },
        { id: "beta", keys: ["sk-state-b1", "sk-state-b2"], limits: { "glm-4.7": 2 } },
      ],
      revokedKeys: ["sk-state-b1"],
    });
    const one = await machine(2);
    const two = await machine(2);
    for (let i = 0; i < 4; i++) expect((await chat(one)).status).toBe(200);
    expect(sim.stats().byKey["sk-state-b1"]).toBe(1);
    await until(() => ready(two).core.pool.state.disabledKeys.has("b1"));
    for (let i = 0; i < 4; i++) expect((await chat(two)).status).toBe(200);
    expect(sim.stats().byKey["sk-state-b1"]).toBe(1);
    // Keys are in Redis by fingerprint only: no secret in any value written.
    const client = new Redis(`${redis.url}/2`);
    const names = await client.keys("*");
    const values = await Promise.all(
      names.map(async (name) =>
        (await client.type(name)) === "string"
          ? client.get(name)
          : JSON.stringify(await client.hgetall(name).catch(() => ({}))),
      ),
    );
    client.disconnect();
    expect(names.join(" ")).toContain("state");
    expect(`${names.join(" ")} ${values.join(" ")}`).not.toMatch(/sk-state/);
  });
});
