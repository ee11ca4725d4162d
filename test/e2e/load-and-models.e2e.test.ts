import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { keepForCase, makeEnv, PLACEHOLDER, runOc, type Serve, startServe } from "./harness.js";

describe("e2e: one OpenCode instance under load, and the model list", () => {
  let sim: Simulator | undefined;
  let serve: Serve | undefined;
  const keep = keepForCase();

  it("case 6: 8 sessions prompted at once never put more than the limit in flight per account and model", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "alpha", keys: ["sk-test-a1", "sk-test-a2"], limits: { "glm-4.7": 2 } },
          { id: "beta", keys: ["sk-test-b1"], limits: { "glm-4.7": 2 } },
        ],
        latencyMs: 1000,
        chunks: 3,
        chunkDelayMs: 100,
      }),
    );
    const env = keep(
      makeEnv({
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
      }),
    );
    serve = keep(await startServe(env));
    const sessions = await Promise.all(Array.from({ length: 8 }, (_, i) => serve!.createSession(`agent-${i}`)));
    const answers = await Promise.all(sessions.map((s, i) => serve!.prompt(s.id, `task ${i}`)));
    for (const answer of answers) expect(answer.info.error).toBeUndefined();
    const stats = sim.stats();
    expect(stats.maxInFlight.alpha?.["glm-4.7"]).toBe(2);
    expect(stats.maxInFlight.beta?.["glm-4.7"]).toBe(2);
    expect(stats.byCode["1302"] ?? 0).toBe(0);
    expect(stats.completed).toBe(8);
    console.log(
      `case 6 (8 parallel sessions, 2 accounts × 2): ${Date.now() - started} ms, byAccount ${JSON.stringify(stats.byAccount)}`,
    );
  });

  it("case 7: opencode models lists the same built-in models with the plugin installed, each at cost 0", async () => {
    const started = Date.now();
    const baseURL = "http://127.0.0.1:9/api/coding/paas/v4"; // never called: the list is OpenCode's bundled one
    const withPlugin = keep(
      makeEnv({ baseURL, authKey: PLACEHOLDER, keysFile: { keys: [{ id: "a", apiKey: "sk-test-a" }] } }),
    );
    const without = keep(makeEnv({ baseURL, authKey: "sk-test-a", plugin: false }));
    const args = ["models", "zai-coding-plan", "--verbose", "--print-logs"];
    const listed = await runOc(withPlugin, args);
    const plain = await runOc(without, args);
    expect(listed.code).toBe(0);
    expect(plain.code).toBe(0);
    // The plugin really was loaded and its loader ran in the first environment, and not in the second.
    expect(listed.stderr).toContain("zai-coding-plan: 1 key(s) in 1 account(s)");
    expect(plain.stderr).not.toContain("key(s) in");
    const withModels = parseVerboseModels(listed.stdout);
    const builtIn = parseVerboseModels(plain.stdout);
    expect(withModels.map((m) => m.id)).toEqual([
      "glm-4.7",
      "glm-5-turbo",
      "glm-5.2",
      "glm-5.2-highspeed",
      "glm-5.3",
      "glm-5.3-flash",
      "glm-5.3-highspeed",
    ]);
    expect(withModels).toEqual(builtIn);
    for (const model of withModels)
      expect(model.cost, model.id).toEqual({ input: 0, output: 0, cache: { read: 0, write: 0 } });
    console.log(`case 7 (models, cost 0): ${Date.now() - started} ms, ${withModels.map((m) => m.id).join(", ")}`);
  });
});

/** `opencode models <provider> --verbose`: a `provider/model` line, then the model as pretty JSON, for each model. */
function parseVerboseModels(stdout: string): Array<{ id: string; cost?: unknown }> {
  const models: Array<{ id: string; cost?: unknown }> = [];
  let json: string[] | undefined;
  const flush = () => {
    if (json) models.push(JSON.parse(json.join("\n")) as { id: string; cost?: unknown });
  };
  for (const line of stdout.split("\n")) {
    if (/^zai-coding-plan\/\S+$/.test(line)) {
      flush();
      json = [];
    } else if (json) json.push(line);
  }
  flush();
  return models;
}
