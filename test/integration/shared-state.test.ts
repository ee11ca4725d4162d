import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ZaiFetch } from "../../src/lib.js";
import { keyEntries, setup } from "./setup.js";

describe("state shared between OpenCode processes", () => {
  const envs: Array<Awaited<ReturnType<typeof setup>>> = [];
  afterEach(async () => {
    await Promise.all(envs.splice(0).map((e) => e.close()));
  });

  it("a 1308 seen by one instance keeps the other off that account within a sync interval, and survives a restart", async () => {
    const stateFile = join(await mkdtemp(join(tmpdir(), "zai-state-")), "state.json");
    const resetAt = Date.now() + 3_600_000;
    const sim = {
      accounts: [
        { id: "A", keys: ["sk-a"], usageWindow: { requests: 0, resetAt } },
        { id: "B", keys: ["sk-b"] },
      ],
    };
    const keysFile = { keys: keyEntries("A:sk-a", "B:sk-b") };
    const first = await setup({ sim, keysFile, env: { ZAI_STATE_FILE: stateFile } });
    const second = await setup({ sim, keysFile, env: { ZAI_STATE_FILE: stateFile } });
    envs.push(first, second);

    await (await first.chat()).text();
    expect(first.sim.stats().byCode["1308"]).toBe(1);
    await vi.waitFor(async () => {
      first.clock.advance(2000);
      expect(await readFile(stateFile, "utf8")).toContain("1308");
    });
    const secondPool = (second.loaded.fetch as ZaiFetch).pool;
    await vi.waitFor(() => {
      second.clock.advance(2000);
      expect(secondPool.state.accountCooldowns.has("A")).toBe(true);
    });
    for (let i = 0; i < 3; i++) await (await second.chat()).text();
    expect(second.sim.stats().byAccount).toEqual({ B: 3 });

    const restarted = await setup({ sim, keysFile, env: { ZAI_STATE_FILE: stateFile } });
    envs.push(restarted);
    await (await restarted.chat()).text();
    expect(restarted.sim.stats().byAccount).toEqual({ B: 1 });
    expect(await readFile(stateFile, "utf8")).not.toContain("sk-a");
  });

  it("writes what a request learned before answering it, without waiting for the periodic sync", async () => {
    const stateFile = join(await mkdtemp(join(tmpdir(), "zai-state-")), "state.json");
    const env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }], unavailableModels: ["glm-5"] },
      keysFile: { keys: keyEntries("A:sk-a") },
      env: { ZAI_STATE_FILE: stateFile },
    });
    envs.push(env);
    expect((await env.chat("glm-5")).status).toBe(403);
    expect(await readFile(stateFile, "utf8")).toContain("1113");
  });
});
