import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator, SimulatorConfig } from "../../simulator/types.js";
import { redisAvailable, startRedis, type RedisServer } from "../ledger/redis-server.js";
import { keepForCase, makeEnv, type OcEnv, ocRun, PLACEHOLDER } from "./harness.js";

describe("e2e: several OpenCode processes share one account limit (machine-wide slot ledger, Redis)", () => {
  let sim: Simulator | undefined;
  let redis: RedisServer | undefined;
  const keep = keepForCase();

  it("case L: 6 `opencode run` at once on one HOME, 2 accounts × real limit 1: every run answered, not one upstream 1302, no process on per-process slots", async () => {
    const started = Date.now();
    sim = keep(await startSimulator(simConfig()));
    const env = keep(makeEnv({ baseURL: sim.url, authKey: PLACEHOLDER, keysFile: keysFile() }));
    // OpenCode's first start creates its database: six first starts at once race on it.
    const first = await ocRun(env, "warm up", { title: "warm-up" });
    expect(first.error).toBeUndefined();
    sim.resetStats();
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => ocRun(env, `task ${i}`, { title: `run-${i}`, timeoutMs: 400_000 })),
    );
    for (const run of runs) {
      expect(run.error, run.stderr.slice(-2000)).toBeUndefined();
      expect(run.code).toBe(0);
      expect(run.text.length).toBeGreaterThan(0);
    }
    const stats = sim.stats();
    const logs = opencodeLogs(env);
    // Every process logged its start (so its warnings would be there too), and none fell back to counting slots for
    // itself (OpenCode 1.18's Bun reported a stale socket file as ENOENT: they all did, and drew 1302s).
    expect(logs.split("\n").filter((l) => l.includes("key(s) in 2 account(s)")).length).toBeGreaterThanOrEqual(7);
    expect(logs).not.toContain("slots are counted per process");
    // Without the ledger, 37–70 of 47–82 upstream requests drew a 1302.
    expect(stats.byCode["1302"] ?? 0).toBe(0);
    expect(stats.maxInFlight.alpha?.["glm-4.7"] ?? 0).toBeLessThanOrEqual(1);
    expect(stats.maxInFlight.beta?.["glm-4.7"] ?? 0).toBeLessThanOrEqual(1);
    console.log(
      `case L (6 opencode run, 2 accounts × 1): ${Date.now() - started} ms, upstream ${stats.requests}, byCode ${JSON.stringify(stats.byCode)}, runs ${runs.map((r) => r.ms).join("/")} ms`,
    );
  }, 480_000);

  it.skipIf(!redisAvailable() && process.env.CI !== "true")(
    "case R: 3 + 3 `opencode run` at once on two HOMEs sharing only ZAI_REDIS_URL (two machines), 2 accounts × real limit 1: every run answered and exits, not one upstream 1302",
    async () => {
      const started = Date.now();
      redis = keep(await startRedis());
      sim = keep(await startSimulator(simConfig()));
      const machines = [0, 1].map(() => {
        const env = keep(
          makeEnv({
            baseURL: sim!.url,
            authKey: PLACEHOLDER,
            keysFile: keysFile(),
            env: { ZAI_REDIS_URL: redis!.url },
          }),
        );
        return env;
      });
      for (const env of machines) expect((await ocRun(env, "warm up", { title: "warm-up" })).error).toBeUndefined();
      sim.resetStats();
      const runs = await Promise.all(
        machines.flatMap((env, m) =>
          [0, 1, 2].map((i) => ocRun(env, `task ${m}.${i}`, { title: `run-${m}-${i}`, timeoutMs: 400_000 })),
        ),
      );
      for (const run of runs) {
        expect(run.error, run.stderr.slice(-2000)).toBeUndefined();
        expect(run.code).toBe(0);
        expect(run.text.length).toBeGreaterThan(0);
      }
      const stats = sim.stats();
      for (const env of machines) expect(opencodeLogs(env)).not.toContain("unavailable");
      expect(stats.byCode["1302"] ?? 0).toBe(0);
      expect(stats.maxInFlight.alpha?.["glm-4.7"] ?? 0).toBeLessThanOrEqual(1);
      expect(stats.maxInFlight.beta?.["glm-4.7"] ?? 0).toBeLessThanOrEqual(1);
      console.log(
        `case R (2 HOMEs × 3 opencode run, Redis): ${Date.now() - started} ms, upstream ${stats.requests}, byCode ${JSON.stringify(stats.byCode)}, runs ${runs.map((r) => r.ms).join("/")} ms`,
      );
    },
    480_000,
  );
});

/** 2 accounts × real limit 1, streams of about 0.5 s. */
function simConfig(): SimulatorConfig {
  return {
    accounts: [
      { id: "alpha", keys: ["sk-test-a1"], limits: { "glm-4.7": 1 } },
      { id: "beta", keys: ["sk-test-b1"], limits: { "glm-4.7": 1 } },
    ],
    latencyMs: 300,
    chunks: 3,
    chunkDelayMs: 100,
  };
}

function keysFile() {
  return {
    keys: [
      { id: "a1", apiKey: "sk-test-a1", account: "alpha" },
      { id: "b1", apiKey: "sk-test-b1", account: "beta" },
    ],
    models: { "glm-4.7": { maxConcurrency: 1 } },
  };
}

/** Everything OpenCode logged in this environment (plugin warnings included). */
function opencodeLogs(env: OcEnv): string {
  const dir = join(env.root, "data", "opencode", "log");
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name), "utf8"))
    .join("\n");
}
