import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeStateFs } from "../../src/lib.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { attach, countingFs, makeProcess, readJson, tempStatePath } from "./helpers.js";

const HOUR = 3_600_000;
const PROVIDER = "zai-coding-plan";

describe("state sync with file problems", () => {
  it("warns about a corrupt file, starts fresh and repairs it", async () => {
    const path = await tempStatePath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "{ not json");
    const clock = new FakeClock();
    const a = await attach(path, clock);
    expect(a.warnings).toEqual([expect.stringContaining("corrupt (not valid JSON); starting fresh")]);
    expect((await readJson(path)).version).toBe(1);
    await a.sync.syncNow();
    expect(a.warnings).toHaveLength(1);
    await a.sync.close();
  });

  it("treats a file of the wrong shape as corrupt", async () => {
    const path = await tempStatePath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(
      path,
      JSON.stringify({ version: 1, providers: { [PROVIDER]: { accountCooldowns: { a: { until: "soon" } } } } }),
    );
    const a = await attach(path, new FakeClock());
    expect(a.warnings[0]).toMatch(
      /corrupt \(unexpected shape at providers\.zai-coding-plan\.accountCooldowns\.a\.until/,
    );
    expect(a.pool.state.accountCooldowns.size).toBe(0);
    await a.sync.close();
  });

  it("warns about an unreadable file, keeps state in memory and does not overwrite it", async () => {
    const path = await tempStatePath();
    const fs = countingFs();
    fs.readFile = async (p) => {
      if (p === path) throw Object.assign(new Error("permission denied"), { code: "EACCES" });
      return nodeStateFs.readFile(p);
    };
    const clock = new FakeClock();
    const a = await attach(path, clock, makeProcess(), { fs });
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.syncNow();
    expect(a.warnings).toEqual([
      expect.stringMatching(/cannot read state file .* \(EACCES\); keeping state in memory only/),
    ]);
    expect(fs.writes).toBe(0);
    expect(a.pool.state.accountCooldowns.has("work")).toBe(true);
    await a.sync.close();
  });

  it("turns a write failure into a warning, never a throw", async () => {
    const path = await tempStatePath();
    const fs = countingFs();
    fs.rename = async () => {
      throw Object.assign(new Error("no space"), { code: "ENOSPC" });
    };
    const clock = new FakeClock();
    const a = await attach(path, clock, makeProcess(), { fs });
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await expect(a.sync.syncNow()).resolves.toBeUndefined();
    expect(a.warnings).toEqual([expect.stringContaining("cannot write state file")]);
    expect(a.warnings[0]).toContain("ENOSPC");
    expect((await readdir(dirname(path))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await a.sync.close();
  });

  it("recovers from a crash between write and rename: temp file cleaned, stale lock broken", async () => {
    const path = await tempStatePath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.4242.deadbeef.tmp`, '{"half":');
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: 999_999_999, host: "elsewhere", at: Date.now() - 60_000, token: "x" }),
    );
    const clock = new FakeClock(Date.now());
    const a = await attach(path, clock);
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.syncNow();
    expect(a.warnings).toEqual([]);
    expect(await readdir(dirname(path))).toEqual(["zai-multi-account-state.json"]);
    await a.sync.close();
  });

  it("breaks a lock whose holder died, however fresh", async () => {
    const path = await tempStatePath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 999_999_999, host: hostname(), at: Date.now(), token: "x" }));
    const a = await attach(path, new FakeClock(Date.now()), makeProcess(), {
      fs: { ...nodeStateFs, processAlive: () => false },
    });
    expect(a.warnings).toEqual([]);
    await a.sync.close();
  });

  it("gives up on a lock held by a live process with a warning, and retries later", async () => {
    const path = await tempStatePath();
    await mkdir(dirname(path), { recursive: true });
    const clock = new FakeClock(Date.now());
    await writeFile(
      `${path}.lock`,
      JSON.stringify({ pid: process.pid, host: "elsewhere", at: clock.now(), token: "x" }),
    );
    const a = await attach(path, clock, makeProcess(), { lock: { timeoutMs: 100, staleMs: 60_000 } });
    expect(a.warnings).toEqual([expect.stringContaining("is held by another process")]);
    await a.sync.close();
  });

  it("creates the file 0600 in a 0700 directory", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
  });
});
