import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { keepForCase, login, makeEnv, type OcEnv, ocRun, PLACEHOLDER } from "./harness.js";

describe("e2e: setup as the README tells a user", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  const keep = keepForCase();

  it("case 1: providers login with the placeholder (old setups), keys in zai-keys.json, opencode run answers with real keys only", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "alpha", keys: ["sk-test-a1", "sk-test-a2"] },
          { id: "beta", keys: ["sk-test-b1"] },
        ],
      }),
    );
    env = keep(
      makeEnv({
        baseURL: sim.url,
        keysFile: {
          keys: [
            { id: "a1", apiKey: "sk-test-a1", account: "alpha" },
            { id: "a2", apiKey: "sk-test-a2", account: "alpha" },
            { id: "b1", apiKey: "sk-test-b1", account: "beta" },
          ],
        },
      }),
    );
    expect(statSync(env.keysFile).mode & 0o777).toBe(0o600);
    const loggedIn = await login(env, PLACEHOLDER);
    expect(loggedIn.code).toBe(0);
    // The plugin's single auth method: its select (how keys map to accounts), then OpenCode's own key field. The
    // placeholder still works for keys kept in zai-keys.json (test/e2e/login.e2e.test.ts pastes real keys instead).
    expect(loggedIn.out).toContain("How do your keys map to Z.AI accounts?");
    expect(loggedIn.out).toContain("Enter your API key");
    expect(JSON.parse(readFileSync(env.authFile, "utf8"))).toEqual({
      "zai-coding-plan": { type: "api", key: PLACEHOLDER, metadata: { accounts: "each" } },
    });
    expect(statSync(env.authFile).mode & 0o777).toBe(0o600);

    const first = await ocRun(env, "say hi");
    expect(first.code).toBe(0);
    expect(first.text).toContain("Hello");
    const second = await ocRun(env, "say hi again");
    expect(second.code).toBe(0);

    const seen = sim.stats().authorizations;
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.every((a) => ["Bearer sk-test-a1", "Bearer sk-test-a2", "Bearer sk-test-b1"].includes(a))).toBe(true);
    expect(seen.join()).not.toContain(PLACEHOLDER);
    // Each run is one session whose calls stay on the account of its previous call (its prompt cache is there), so
    // which keys two runs use depends on placement, not on rotation (rotation without session headers is covered by
    // test/integration/plugin-contract.test.ts).
    console.log(
      `case 1 (bootstrap + 2 runs): ${Date.now() - started} ms, keys seen ${JSON.stringify(sim.stats().byKey)}`,
    );
  });

  it("case 2: keys from ZAI_API_KEYS instead of the file", async () => {
    const started = Date.now();
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "e1", keys: ["sk-test-env-1"] },
          { id: "e2", keys: ["sk-test-env-2"] },
          { id: "f", keys: ["sk-test-file"] },
        ],
      }),
    );
    env = keep(
      makeEnv({
        baseURL: sim.url,
        authKey: PLACEHOLDER,
        keysFile: { keys: [{ id: "f", apiKey: "sk-test-file" }] },
        env: { ZAI_API_KEYS: "sk-test-env-1,sk-test-env-2" },
      }),
    );
    const run = await ocRun(env, "say hi");
    expect(run.code).toBe(0);
    expect(run.text).toContain("Hello");
    // Title and main call, on environment keys only, never the file's key or the placeholder. They share one session,
    // which stays on the account that served its previous call (its prompt cache is there).
    const byKey = sim.stats().byKey;
    expect(Object.values(byKey).reduce((a, b) => a + b, 0)).toBe(2);
    expect(Object.keys(byKey).every((k) => k.startsWith("sk-test-env-"))).toBe(true);
    expect(sim.stats().authorizations.every((a) => /^Bearer sk-test-env-[12]$/.test(a))).toBe(true);
    console.log(`case 2 (ZAI_API_KEYS): ${Date.now() - started} ms`);
  });
});
