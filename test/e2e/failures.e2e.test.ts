import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator, SimulatorHit } from "../../simulator/types.js";
import { keepForCase, makeEnv, type OcEnv, ocRun, PLACEHOLDER, type Serve, startServe, stripAnsi } from "./harness.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("e2e: failures inside the real OpenCode", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  let serve: Serve | undefined;
  const keep = keepForCase();

  it("case 3: a revoked key and an account at its concurrency limit: every prompt answers, the revoked key is used once", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "alpha", keys: ["sk-test-revoked", "sk-test-good"], limits: { "glm-4.7": 3 } },
          // The plugin is told 3 (below), Z.AI allows 1 here: beta answers 1302 until the plugin has learned it.
          { id: "beta", keys: ["sk-test-beta"], limits: { "glm-4.7": 1 } },
        ],
        revokedKeys: ["sk-test-revoked"],
        latencyMs: 400,
      }),
    );
    env = keep(
      makeEnv({
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
      }),
    );
    serve = keep(await startServe(env));
    const spreads: number[] = [];
    for (let round = 0; round < 2; round++) {
      const sessions = await Promise.all([0, 1, 2, 3].map((i) => serve!.createSession(`r${round}-${i}`)));
      const before = sim.stats().hits.length;
      const answers = await Promise.all(sessions.map((s) => serve!.prompt(s.id, "hi")));
      for (const answer of answers) {
        expect(answer.info.error).toBeUndefined();
        expect(answer.parts.some((p) => p.type === "text" && (p.text ?? "").length > 0)).toBe(true);
      }
      const hits = sim.stats().hits.slice(before);
      spreads.push(Math.max(...hits.map((h) => h.at)) - Math.min(...hits.map((h) => h.at)));
    }
    const stats = sim.stats();
    // The 401 disabled the key: it was sent exactly once over 8 prompts although round-robin would pick it again.
    expect(stats.byKey["sk-test-revoked"]).toBe(1);
    expect(stats.byCode["1001"]).toBe(1);
    // beta really was at its limit (1302), at most once per extra request sent before the limit was learned,
    // and it still served.
    const limited = stats.hits.filter((h) => h.code === "1302");
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(2);
    expect(limited.every((h) => h.account === "beta")).toBe(true);
    expect(stats.hits.filter((h) => h.account === "beta" && h.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(stats.byCode["200"]).toBe(8);
    expect(stats.requests).toBe(8 + 1 + limited.length);
    // The plugin retried the 401 and the 1302 itself: no OpenCode retry (the request count above has none). A session
    // may wait up to affinity.maxWaitMs (2 s) for the account of its previous call, so a round spans at most ~3.5 s.
    expect(Math.max(...spreads)).toBeLessThan(3500);
    console.log(
      `case 3 (401 + account at limit, 2 rounds of 4 prompts): ${Date.now() - started} ms, codes ${JSON.stringify(stats.byCode)}, upstream spread per round ${spreads.join(", ")} ms`,
    );
  });

  it("case 4: a model answering 1113 on every account ends with the plugin's message after one call per account", async () => {
    const started = Date.now();
    const accounts = ["alpha", "beta", "gamma"];
    sim = keep(
      await startSimulator({
        accounts: accounts.map((id) => ({ id, keys: [`sk-test-${id}`] })),
        unavailableModels: ["glm-4.7"],
      }),
    );
    env = keep(
      makeEnv({
        baseURL: sim.url,
        authKey: PLACEHOLDER,
        keysFile: { keys: accounts.map((id) => ({ id, apiKey: `sk-test-${id}` })) },
      }),
    );
    // --title: OpenCode makes exactly one model call (no title generation).
    const run = await ocRun(env, "say hi", { title: "e2e 1113" });
    expect(run.code).toBe(1);
    expect(run.error?.data?.statusCode).toBe(403);
    expect(run.error?.data?.isRetryable).toBe(false);
    expect(run.error?.data?.message).toMatch(
      /^\[oc-zai-multi-account\] glm-4\.7 is not available on any account \(alpha: model not in plan \(1113\)/,
    );
    // One upstream call per account, each 1113; OpenCode did not retry (its loop would add 5 more rounds).
    const hits = sim.stats().hits;
    expect(hits.map((h) => h.code)).toEqual(["1113", "1113", "1113"]);
    expect(hits.map((h) => h.account).sort()).toEqual(accounts);
    const firstMs = run.ms;

    // What the user sees in the terminal, on a second run.
    const again = await ocRun(env, "say hi", { title: "e2e 1113 again", json: false });
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    const shown = stripAnsi(again.stderr);
    expect(shown).toContain("Error: [oc-zai-multi-account] glm-4.7 is not available on any account");
    expect(shown).toContain("retrying cannot fix it");
    // The first run wrote the 1113 marks to the state file before answering, so the second run asks nobody.
    const secondCalls = sim.stats().requests - 3;
    expect(secondCalls).toBe(0);
    expect(sim.stats().hits.every((h) => h.code === "1113")).toBe(true);
    console.log(
      `case 4 (1113 everywhere, 3 accounts): first run ${firstMs} ms with 3 upstream calls, second run ${again.ms} ms with ${secondCalls}; total ${Date.now() - started} ms`,
    );
  });

  it("case 5: every account in a 1308 window: OpenCode is told the reset time and retries when retry-after-ms says", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "alpha", keys: ["sk-test-a"] },
          { id: "beta", keys: ["sk-test-b"] },
        ],
      }),
    );
    env = keep(
      makeEnv({
        baseURL: sim.url,
        authKey: PLACEHOLDER,
        keysFile: {
          keys: [
            { id: "a", apiKey: "sk-test-a", account: "alpha" },
            { id: "b", apiKey: "sk-test-b", account: "beta" },
          ],
          // Hand every cooldown to OpenCode instead of waiting inside the plugin.
          retry: { maxCooldownWaitMs: 0 },
        },
        // Z.AI stamps resets in Beijing time (UTC+8); the message must show the user's local time (UTC+5:30 here).
        env: { TZ: "Asia/Kolkata", LANG: "en_US.UTF-8", LC_ALL: "en_US.UTF-8" },
      }),
    );
    serve = keep(await startServe(env));
    // Warm up: the provider and plugin load on the first prompt (seconds), so the reset below is timed from a warm instance.
    const warm = await serve.createSession("warm-up");
    expect((await serve.prompt(warm.id, "hi")).info.error).toBeUndefined();
    sim.resetStats();

    // Both windows spent, resetting 6 s from now (stamps have whole seconds).
    const resetAt = Math.ceil((Date.now() + 6000) / 1000) * 1000;
    sim.setUsageWindow("alpha", { requests: 0, resetAt });
    sim.setUsageWindow("beta", { requests: 0, resetAt });
    const localReset = new Date(resetAt + 5.5 * 3600_000).toISOString().slice(11, 19);
    const session = await serve.createSession("window");
    await serve.promptAsync(session.id, "hi");
    let retry: { type: string; attempt?: number; message?: string; next?: number } | undefined;
    for (let i = 0; i < 200 && !retry; i++) {
      const status = (await serve.status())[session.id];
      if (status?.type === "retry") retry = status;
      else await sleep(50);
    }
    expect(retry).toBeDefined();
    expect(retry?.attempt).toBe(1);
    expect(retry?.message).toMatch(
      new RegExp(
        `^\\[oc-zai-multi-account\\] every account is cooling for glm-4\\.7: alpha: 5-hour usage window spent \\(1308\\) until ${localReset} \\(in \\d+ s\\); beta: 5-hour usage window spent \\(1308\\) until ${localReset} \\(in \\d+ s\\)$`,
      ),
    );
    // OpenCode schedules its retry when retry-after-ms says: at the reset.
    expect(Math.abs((retry?.next ?? 0) - resetAt)).toBeLessThan(1000);
    expect(sim.stats().hits.map((h) => h.code)).toEqual(["1308", "1308"]);

    // Z.AI resets the windows at resetAt; OpenCode's retry must not come earlier.
    await sleep(Math.max(0, resetAt - Date.now() - 300));
    expect(sim.stats().requests).toBe(2);
    sim.setUsageWindow("alpha", null);
    sim.setUsageWindow("beta", null);
    for (let i = 0; i < 200; i++) {
      if (Object.keys(await serve.status()).length === 0) break;
      await sleep(50);
    }
    const hits: SimulatorHit[] = sim.stats().hits;
    expect(hits.map((h) => h.code)).toEqual(["1308", "1308", null]);
    expect(hits[2]?.status).toBe(200);
    expect(hits[2]!.at).toBeGreaterThanOrEqual(resetAt - 300);
    expect(hits[2]!.at).toBeLessThan(resetAt + 2500);
    console.log(
      `case 5 (1308 everywhere): ${Date.now() - started} ms; hits at +${hits.map((h) => h.at - hits[0]!.at).join(" ms, +")} ms; reset at +${resetAt - hits[0]!.at} ms; retry.next - reset = ${(retry?.next ?? 0) - resetAt} ms; message: ${retry?.message}`,
    );
  });
});
