import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { makeEnv, runOc, startServe, type OcEnv, type Serve } from "./harness.js";

const PLACEHOLDER = "oc-zai-multi-account-managed";

describe("e2e: one OpenCode instance under load, and the model list", () => {
  let sim: Simulator | undefined;
  const envs: OcEnv[] = [];
  let serve: Serve | undefined;
  afterEach(async () => {
    await serve?.stop();
    serve = undefined;
    await sim?.close();
    for (const e of envs.splice(0)) e.cleanup();
  });

  it("case 6: 8 sessions prompted at once never put more than the limit in flight per account and model", async () => {
    const started = Date.now();
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-test-a1", "sk-test-a2"], limits: { "glm-4.7": 2 } },
        { id: "beta", keys: ["sk-test-b1"], limits: { "glm-4.7": 2 } },
      ],
      latencyMs: 1000,
      chunks: 3,
      chunkDelayMs: 100,
    });
    const env = makeEnv({
      baseURL: sim.url,
      authKey: PLACEHOLDER,
      keysFile: {
        keys: [
          { id: "a1", apiKey: "sk-test-a1", account: "alpha" },
          { id: "a2", apiKey: "sk-test-a2", account: "alpha" },
          { id: "b1", apiKey: "sk-test-b1", account: "beta" },
        ],
        models: { "glm-4.7": { maxConcurrency: 2 } },
      },
    });
    envs.push(env);
    serve = await startServe(env);
    const sessions = await Promise.all(Array.from({ length: 8 }, (_, i) => serve!.createSession(`agent-${i}`)));
    const answers = await Promise.all(sessions.map((s, i) => serve!.prompt(s.id, `task ${i}`)));
    for (const answer of answers) expect(answer.info.error).toBeUndefined();
    const stats = sim.stats();
    expect(stats.maxInFlight.alpha?.["glm-4.7"]).toBe(2);
    expect(stats.maxInFlight.beta?.["glm-4.7"]).toBe(2);
    expect(stats.byCode["1302"] ?? 0).toBe(0);
    expect(stats.completed).toBe(8);
    console.log(`case 6 (8 parallel sessions, 2 accounts × 2): ${Date.now() - started} ms, byAccount ${JSON.stringify(stats.byAccount)}`);
  });

  it("case 7: opencode models lists the same built-in models with the plugin installed, each at cost 0", async () => {
    const started = Date.now();
    const withPlugin = makeEnv({ baseURL: "http://127.0.0.1:9/api/coding/paas/v4", authKey: PLACEHOLDER, keysFile: { keys: [{ id: "a", apiKey: "sk-test-a" }] } });
    const without = makeEnv({ baseURL: "http://127.0.0.1:9/api/coding/paas/v4", authKey: "sk-test-a" });
    envs.push(withPlugin, without);
    // The second environment lists no plugin at all.
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${without.proj}/opencode.json`, JSON.stringify({ provider: { "zai-coding-plan": { options: { baseURL: "http://127.0.0.1:9/api/coding/paas/v4" } } } }));
    const listed = await runOc(withPlugin, ["models", "zai-coding-plan", "--verbose"]);
    const plain = await runOc(without, ["models", "zai-coding-plan", "--verbose"]);
    expect(listed.code).toBe(0);
    const models = (out: string) => [...out.matchAll(/^zai-coding-plan\/(\S+)$/gm)].map((m) => m[1]);
    expect(models(listed.stdout).length).toBeGreaterThan(0);
    expect(models(listed.stdout)).toEqual(models(plain.stdout));
    const costs = [...listed.stdout.matchAll(/"cost": \{\s*"input": ([\d.]+),\s*"output": ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(costs).toHaveLength(models(listed.stdout).length);
    expect(costs.every(([input, output]) => input === 0 && output === 0)).toBe(true);
    console.log(`case 7 (models, cost 0): ${Date.now() - started} ms, ${models(listed.stdout).join(", ")}`);
  });
});
