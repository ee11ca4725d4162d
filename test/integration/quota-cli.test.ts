import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import { fingerprint } from "../../src/lib.js";
import { KEYS, cli, correctSetup, defaultOpencodeConfig, ensureBuilt, sandbox } from "../cli/helpers.js";

beforeAll(ensureBuilt, 180_000);

const HOUR = 3_600_000;

describe("status shows quota readings", () => {
  it("per account: plan, 5-hour and weekly usage with local reset times, when read, live sessions", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const now = Date.now();
    const work = `fp:${fingerprint(KEYS.work)}`;
    const quotaFile = join(dirname(box.stateFile), "zai-multi-account-quota.json");
    await mkdir(dirname(quotaFile), { recursive: true });
    const reading = (five: number, week: number) => ({
      at: now - 3 * 60_000,
      level: "pro",
      fiveHour: { type: "TOKENS_LIMIT", percentage: five, resetAt: now + 2 * HOUR },
      weekly: { type: "TOKENS_LIMIT", percentage: week, resetAt: now + 50 * HOUR },
    });
    await writeFile(
      quotaFile,
      JSON.stringify({
        version: 1,
        providers: {
          "zai-coding-plan": {
            personal: { reading: reading(42.4, 30), sessions: 2 },
            [work]: { reading: reading(96, 71), sessions: 0 },
          },
        },
      }),
    );
    const run = await cli(box, ["status"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /account personal: usable[\s\S]*quota: plan pro; 5-hour 42% \(resets \d\d:\d\d:\d\d\); weekly 30% \(resets \S+ \d\d:\d\d:\d\d\); read \d\d:\d\d:\d\d \(3 min ago\); 2 live sessions/,
    );
    expect(run.stdout).toMatch(/account work: usable[\s\S]*quota: plan pro; 5-hour 96%/);
    const json = JSON.parse((await cli(box, ["status", "--json"])).stdout) as {
      accounts: Array<{ account: string; quota?: unknown }>;
    };
    expect(json.accounts[0]).toMatchObject({
      account: "personal",
      quota: { level: "pro", fiveHour: { percent: 42.4 }, weekly: { percent: 30 }, sessions: 2 },
    });
  });

  it("shows no quota line when nothing was read", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["status"]);
    expect(run.stdout).not.toContain("quota:");
  });
});

describe("doctor --keys", () => {
  it("validates every key through the quota endpoint and names the refused ones by id", async () => {
    const sim = await startSimulator({
      accounts: [
        { id: "personal", keys: [KEYS.main] },
        { id: "work", keys: [KEYS.work] },
      ],
    });
    try {
      const box = await sandbox();
      await correctSetup(
        box,
        defaultOpencodeConfig({ provider: { "zai-coding-plan": { options: { baseURL: sim.url } } } }),
      );
      const run = await cli(box, ["doctor", "--keys"]);
      expect(run.stdout).toMatch(/ok {4}key main \(account personal\): valid \(plan pro, 5-hour 0%, weekly 0%\)/);
      expect(run.stdout).toMatch(/FAIL {2}key spare \(account personal\): rejected by the quota endpoint \(401\)/);
      expect(run.stdout).toContain('fix: replace or remove key "spare"');
      expect(run.stdout).toMatch(/ok {4}key work: valid/);
      expect(run.code).toBe(1);
      for (const key of Object.values(KEYS)) expect(run.stdout).not.toContain(key);
      expect(Object.values(sim.quota()).reduce((n, q) => n + q.reads, 0)).toBe(2);
      expect(sim.stats().requests).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
