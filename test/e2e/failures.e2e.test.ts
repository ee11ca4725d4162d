import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { makeEnv, ocRun, startServe, type OcEnv, type Serve } from "./harness.js";

const PLACEHOLDER = "oc-zai-multi-account-managed";

describe("e2e: failures inside the real OpenCode", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  let serve: Serve | undefined;
  afterEach(async () => {
    await serve?.stop();
    serve = undefined;
    await sim?.close();
    env?.cleanup();
  });

  it("case 3: a revoked key and an account at its concurrency limit: every prompt answers, the revoked key is used once", async () => {
    const started = Date.now();
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-test-revoked", "sk-test-good"], limits: { "glm-4.7": 3 } },
        { id: "beta", keys: ["sk-test-beta"], limits: { "glm-4.7": 1 } },
      ],
      revokedKeys: ["sk-test-revoked"],
      latencyMs: 400,
    });
    env = makeEnv({
      baseURL: sim.url,
      authKey: PLACEHOLDER,
      keysFile: {
        keys: [
          { id: "revoked", apiKey: "sk-test-revoked", account: "alpha" },
          { id: "good", apiKey: "sk-test-good", account: "alpha" },
          { id: "beta", apiKey: "sk-test-beta", account: "beta" },
        ],
        models: { "glm-4.7": { maxConcurrency: 3 } },
      },
    });
    serve = await startServe(env);
    for (let round = 0; round < 2; round++) {
      const sessions = await Promise.all([0, 1, 2, 3].map((i) => serve!.createSession(`r${round}-${i}`)));
      const answers = await Promise.all(sessions.map((s) => serve!.prompt(s.id, "hi")));
      for (const answer of answers) {
        expect(answer.info.error).toBeUndefined();
        expect(answer.parts.some((p) => p.type === "text" && (p.text ?? "").length > 0)).toBe(true);
      }
    }
    const stats = sim.stats();
    expect(stats.byKey["sk-test-revoked"]).toBe(1);
    expect(stats.maxInFlight.beta?.["glm-4.7"] ?? 0).toBeLessThanOrEqual(1);
    expect(stats.byKey["sk-test-beta"]).toBeGreaterThanOrEqual(1);
    console.log(`case 3 (401 + account at limit, 8 prompts): ${Date.now() - started} ms, codes ${JSON.stringify(stats.byCode)}`);
  });

  it("case 4: a model answering 1113 on every account ends with the plugin's message after one call per account", async () => {
    const started = Date.now();
    sim = await startSimulator({ accounts: [{ id: "alpha", keys: ["sk-test-a"] }, { id: "beta", keys: ["sk-test-b"] }], unavailableModels: ["glm-4.7"] });
    env = makeEnv({
      baseURL: sim.url,
      authKey: PLACEHOLDER,
      keysFile: { keys: [{ id: "a", apiKey: "sk-test-a" }, { id: "b", apiKey: "sk-test-b" }] },
    });
    const run = await ocRun(env, "say hi");
    expect(run.code).toBe(1);
    expect(run.error?.data?.statusCode).toBe(403);
    expect(run.error?.data?.isRetryable).toBe(false);
    expect(JSON.stringify(run.error)).toMatch(/\[oc-zai-multi-account\] glm-4\.7 is not available on any account/);
    // title call: one per account; main call: none (both pairs are known unavailable); OpenCode did not retry.
    expect(sim.stats().requests).toBe(2);
    expect(sim.stats().byCode["1113"]).toBe(2);
    console.log(`case 4 (1113 everywhere): ${run.ms} ms, ${sim.stats().requests} upstream calls, total ${Date.now() - started} ms`);
  });

  it("case 5: every account in a 1308 window: OpenCode is told the reset time and retries when retry-after-ms says", async () => {
    const started = Date.now();
    sim = await startSimulator({ accounts: [{ id: "alpha", keys: ["sk-test-a"] }, { id: "beta", keys: ["sk-test-b"] }] });
    env = makeEnv({
      baseURL: sim.url,
      authKey: PLACEHOLDER,
      keysFile: {
        keys: [
          { id: "a", apiKey: "sk-test-a", account: "alpha" },
          { id: "b", apiKey: "sk-test-b", account: "beta" },
        ],
        retry: { maxCooldownWaitMs: 0 },
      },
    });
    serve = await startServe(env);
    // Both windows spent, resetting 8 s from now (stamps have whole seconds).
    const resetAt = Math.ceil((Date.now() + 8000) / 1000) * 1000;
    sim.setUsageWindow("alpha", { requests: 0, resetAt });
    sim.setUsageWindow("beta", { requests: 0, resetAt });
    const session = await serve.createSession("window");
    await serve.promptAsync(session.id, "hi");
    let retry: { type: string; message?: string; next?: number } | undefined;
    for (let i = 0; i < 200 && !retry; i++) {
      const status = (await serve.status())[session.id];
      if (status?.type === "retry") retry = status;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(retry?.message).toMatch(/\[oc-zai-multi-account\] every account is cooling for glm-4\.7: alpha: 5-hour usage window spent \(1308\) until \d/);
    expect(Math.abs((retry?.next ?? 0) - resetAt)).toBeLessThan(2000);
    const refusals = sim.stats().hits;
    expect(refusals.map((h) => h.code)).toEqual(["1308", "1308"]);
    // The windows reset as stated: the retry must arrive no earlier than the reset time.
    sim.setUsageWindow("alpha", null);
    sim.setUsageWindow("beta", null);
    for (let i = 0; i < 400; i++) {
      if (Object.keys(await serve.status()).length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const hits = sim.stats().hits;
    expect(hits).toHaveLength(3);
    expect(hits[2]?.status).toBe(200);
    expect(hits[2]!.at).toBeGreaterThanOrEqual(resetAt - 1000);
    expect(hits[2]!.at).toBeLessThan(resetAt + 5000);
    console.log(
      `case 5 (1308 everywhere): ${Date.now() - started} ms; hits at +${hits.map((h) => h.at - hits[0]!.at).join(" ms, +")} ms; retry-after ${resetAt - hits[0]!.at} ms`,
    );
  });
});
