import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { parseQuotaAnswer } from "../../src/quota/parse.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const quota = (s: Simulator, key: string) =>
  fetch(`${s.origin}/api/monitor/usage/quota/limit`, { headers: { authorization: key } });
const chat = (s: Simulator, key: string, messages: object[]) =>
  fetch(`${s.url}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "glm-4.7", messages, stream: false }),
  }).then(
    (r) => r.json() as Promise<{ usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } } }>,
  );

describe("simulator quota endpoint", () => {
  it("answers in the TOKENS_LIMIT shape by default, with usage that grows as requests are served", async () => {
    sim = await startSimulator({ accounts: [{ id: "a", keys: ["sk-test-a"], usageWindow: { requests: 10 } }] });
    const before = parseQuotaAnswer(200, await (await quota(sim, "sk-test-a")).text(), 0);
    expect(before).toMatchObject({
      kind: "reading",
      reading: { level: "pro", fiveHour: { type: "TOKENS_LIMIT", percentage: 0 }, tools: { type: "TIME_LIMIT" } },
    });
    for (let i = 0; i < 3; i++) await chat(sim, "sk-test-a", [{ role: "user", content: `q${i}` }]);
    const after = parseQuotaAnswer(200, await (await quota(sim, "sk-test-a")).text(), 0);
    expect(after).toMatchObject({ kind: "reading", reading: { fiveHour: { percentage: 30 } } });
    expect(sim.quota()["a"]?.reads).toBe(2);
  });

  it("serves CREDIT_LIMIT and percentage-only shapes, and sets percentages on request", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "a", keys: ["sk-test-a"] },
        { id: "b", keys: ["sk-test-b"] },
      ],
    });
    sim.setQuota({ account: "a", shape: "credits", level: "lite", fiveHourPercent: 90, weeklyPercent: 20 });
    const control = await fetch(`${sim.origin}/_sim/quota`, {
      method: "POST",
      body: JSON.stringify({ account: "b", shape: "percentage-only", weeklyPercent: 100 }),
    });
    expect(control.status).toBe(200);
    const a = parseQuotaAnswer(200, await (await quota(sim, "sk-test-a")).text(), 0);
    expect(a).toMatchObject({
      kind: "reading",
      reading: {
        level: "lite",
        fiveHour: { type: "CREDIT_LIMIT", percentage: 90, limit: 2000 },
        weekly: { percentage: 20 },
      },
    });
    const b = parseQuotaAnswer(200, await (await quota(sim, "sk-test-b")).text(), 0);
    expect(b).toMatchObject({
      kind: "reading",
      reading: { fiveHour: { percentage: 0 }, weekly: { type: "TOKENS_LIMIT", percentage: 100 } },
    });
    if (b.kind === "reading") expect(b.reading.weekly?.resetAt).toBeUndefined();
    const bad = await fetch(`${sim.origin}/_sim/quota`, {
      method: "POST",
      body: JSON.stringify({ account: "a", shape: "bytes" }),
    });
    expect(bad.status).toBe(400);
  });

  it("reports a bad key in a 200 body", async () => {
    sim = await startSimulator({ accounts: [{ id: "a", keys: ["sk-test-a"] }], revokedKeys: ["sk-test-revoked"] });
    for (const key of ["sk-test-revoked", "sk-test-unknown"]) {
      const response = await quota(sim, key);
      expect(response.status).toBe(200);
      expect(parseQuotaAnswer(200, await response.text(), 0)).toEqual({
        kind: "bad-key",
        code: "401",
        message: "token expired or incorrect",
      });
    }
  });
});

describe("simulator prompt cache", () => {
  it("reports cached tokens for a repeated prefix on the same account only", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "a", keys: ["sk-test-a"] },
        { id: "b", keys: ["sk-test-b"] },
      ],
    });
    const turn1 = [
      { role: "system", content: "You are a careful coding agent. ".repeat(20) },
      { role: "user", content: "first" },
    ];
    const first = await chat(sim, "sk-test-a", turn1);
    expect(first.usage.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    const turn2 = [...turn1, { role: "assistant", content: "done" }, { role: "user", content: "second" }];
    const warm = await chat(sim, "sk-test-a", turn2);
    const cached = warm.usage.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(150);
    expect(cached).toBeLessThan(warm.usage.prompt_tokens);
    const cold = await chat(sim, "sk-test-b", turn2);
    expect(cold.usage.prompt_tokens_details).toEqual({ cached_tokens: 0 });
  });
});
