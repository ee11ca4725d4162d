import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { keepForCase, makeEnv, type OcEnv, ocRun, PLACEHOLDER, PLUGIN, PLUGIN_ZHIPU, runOc } from "./harness.js";

/**
 * The package's entries are `{ id, server, setup }` objects (for OpenCode 1.x and 2.x): the real 1.18.33 binary
 * must still load both, run `server` for each provider, and never mix their keys. (1.18.33 also calls `setup`
 * with a reduced context; the plugin must ignore it.)
 */
describe("e2e: both entries with the { id, server, setup } export shape", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  const keep = keepForCase();

  it("case 10: dist/index.js serves zai-coding-plan and dist/zhipu.js serves zhipuai-coding-plan, each with its own keys", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "zai", keys: ["sk-test-zai-1", "sk-test-zai-2"] },
          { id: "cn", keys: ["sk-test-cn-1"] },
        ],
      }),
    );
    env = keep(
      makeEnv({
        baseURL: sim.url,
        authKey: PLACEHOLDER,
        authProviders: ["zai-coding-plan", "zhipuai-coding-plan"],
        plugins: [`file://${PLUGIN}`, `file://${PLUGIN_ZHIPU}`],
        // 1.18.33's bundled model registry has no zhipuai-coding-plan: define it (OpenAI-compatible, like the real one).
        providers: {
          "zhipuai-coding-plan": {
            npm: "@ai-sdk/openai-compatible",
            name: "Zhipu AI Coding Plan",
            options: { baseURL: sim.url },
            models: { "glm-4.7": { name: "GLM-4.7" } },
          },
        },
        keysFile: {
          keys: [
            { id: "z1", apiKey: "sk-test-zai-1", account: "zai" },
            { id: "z2", apiKey: "sk-test-zai-2", account: "zai" },
            { id: "c1", apiKey: "sk-test-cn-1", account: "cn", provider: "zhipuai-coding-plan" },
          ],
        },
      }),
    );
    const zai = await ocRun(env, "say hi", { title: "zai" });
    expect(zai.code).toBe(0);
    expect(zai.text).toContain("Hello");
    const zaiSeen = [...sim.stats().authorizations];
    expect(zaiSeen.length).toBeGreaterThanOrEqual(1);
    expect(zaiSeen.every((a) => a === "Bearer sk-test-zai-1" || a === "Bearer sk-test-zai-2")).toBe(true);

    const cn = await ocRun(env, "say hi", { title: "cn", model: "zhipuai-coding-plan/glm-4.7" });
    expect(cn.code).toBe(0);
    expect(cn.text).toContain("Hello");
    const cnSeen = sim.stats().authorizations.slice(zaiSeen.length);
    expect(cnSeen.length).toBeGreaterThanOrEqual(1);
    expect(cnSeen.every((a) => a === "Bearer sk-test-cn-1")).toBe(true);
    expect(sim.stats().authorizations.join()).not.toContain(PLACEHOLDER);
    console.log(
      `case 10 (two entries, two providers): ${Date.now() - started} ms, keys seen ${JSON.stringify(sim.stats().byKey)}`,
    );
  });

  it("case 11: OpenCode's Bun runtime fetches the keyless data: stub the 2.x adapter hands the host", async () => {
    const probe = fileURLToPath(new URL("./fixtures/data-url-probe.js", import.meta.url));
    env = keep(makeEnv({ baseURL: "http://127.0.0.1:9/api/coding/paas/v4", plugins: [`file://${probe}`] }));
    const out = join(env.root, "probe.json");
    env.env.PROBE_OUT = out;
    const run = await runOc(env, ["models", "zai-coding-plan"]);
    expect(run.code).toBe(0);
    const seen = JSON.parse(readFileSync(out, "utf8")) as { ok: boolean; status?: number; body?: string; bun?: string };
    expect(seen).toMatchObject({ ok: true, status: 200, body: "{}" });
    console.log(`case 11: Bun ${seen.bun} fetched the data: stub`);
  });
});
