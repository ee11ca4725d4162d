import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { quotaFilePath, readQuotaFile, writeQuotaReading } from "../../src/quota/quota-file.js";
import { nodeStateFs } from "../../src/state/state-fs.js";

const reading = (at: number, percentage: number) => ({
  at,
  level: "pro",
  fiveHour: { type: "TOKENS_LIMIT", percentage },
});

describe("quota file", () => {
  it("sits beside the state file and keeps the newest reading per account", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zai-quota-"));
    const path = quotaFilePath(join(dir, "zai-multi-account-state.json"));
    expect(path).toBe(join(dir, "zai-multi-account-quota.json"));
    await writeQuotaReading(nodeStateFs, path, "zai-coding-plan", "personal", reading(2000, 40), 2);
    await writeQuotaReading(nodeStateFs, path, "zai-coding-plan", "personal", reading(1000, 10), 0);
    await writeQuotaReading(nodeStateFs, path, "zai-coding-plan", "fp:abc", reading(1500, 70), 1);
    const file = await readQuotaFile(nodeStateFs, path);
    expect(file.providers["zai-coding-plan"]).toEqual({
      personal: { reading: reading(2000, 40), sessions: 2 },
      "fp:abc": { reading: reading(1500, 70), sessions: 1 },
    });
    expect(await readFile(path, "utf8")).not.toMatch(/sk-/);
  });

  it("reads a missing, corrupt or foreign file as empty", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zai-quota-"));
    const path = join(dir, "zai-multi-account-quota.json");
    expect(await readQuotaFile(nodeStateFs, path)).toEqual({ version: 1, providers: {} });
    await writeFile(path, "{not json");
    expect(await readQuotaFile(nodeStateFs, path)).toEqual({ version: 1, providers: {} });
    await writeFile(path, JSON.stringify({ version: 2, providers: {} }));
    expect(await readQuotaFile(nodeStateFs, path)).toEqual({ version: 1, providers: {} });
  });
});
