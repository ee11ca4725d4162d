import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { fingerprint, stateFilePath } from "../../src/lib.js";
import { pairKey } from "../../src/limits/pair-key.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { attach, countingFs, learnLimit, makeProcess, readJson, tempStatePath } from "./helpers.js";

const HOUR = 3_600_000;
const PROVIDER = "zai-coding-plan";

describe("stateFilePath", () => {
  it("uses ZAI_STATE_FILE, then XDG_STATE_HOME, then ~/.local/state", () => {
    expect(stateFilePath({ ZAI_STATE_FILE: "/x/s.json", XDG_STATE_HOME: "/s" }, "/home/u")).toBe("/x/s.json");
    expect(stateFilePath({ XDG_STATE_HOME: "/s" }, "/home/u")).toBe("/s/opencode/zai-multi-account-state.json");
    expect(stateFilePath({}, "/home/u")).toBe("/home/u/.local/state/opencode/zai-multi-account-state.json");
  });

  it("is undefined when persistence is off", () => {
    expect(stateFilePath({ ZAI_STATE_FILE: "off" }, "/home/u")).toBeUndefined();
  });
});

describe("attachStateSync", () => {
  it("does nothing without a path", async () => {
    const clock = new FakeClock();
    const { sync } = await attach(undefined as unknown as string, clock);
    await sync.syncNow();
    await sync.close();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("persists what the pool learned, by fingerprint and never the key", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    const now = clock.now();
    a.pool.coolAccount("personal", { until: now + HOUR, reason: "5-hour usage window spent", code: "1308" });
    a.pool.disableKey("spare", "rejected (401)", "1001", now);
    a.pool.markUnavailable("work", "glm-5", "1113", false, now + HOUR);
    learnLimit(a.limits, "personal", "glm-4.7", 5);
    await a.sync.syncNow();

    const text = await readFile(path, "utf8");
    expect(text).not.toContain("sk-test");
    const section = (await readJson(path)).providers[PROVIDER]!;
    expect(section.accountCooldowns.personal?.until).toBe(now + HOUR);
    expect(Object.keys(section.disabledKeys)).toEqual([fingerprint("sk-test-spare")]);
    expect(section.unavailable[`fp:${fingerprint("sk-test-work")}`]?.["glm-5"]).toBeDefined();
    expect(section.limits.personal?.["glm-4.7"]?.limit).toBe(5);
    await a.sync.close();
  });

  it("applies the file to a new process at start", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    const now = clock.now();
    a.pool.coolAccount("personal", { until: now + HOUR, reason: "5-hour usage window spent", code: "1308" });
    a.pool.disableKey("spare", "rejected (401)", "1001", now);
    a.pool.coolKey("work", { until: now + 60_000, reason: "rate limited (429)", code: undefined });
    a.pool.markUnavailable("work", "glm-5", "1113", false, now + HOUR);
    learnLimit(a.limits, "personal", "glm-4.7", 5);
    await a.sync.close();

    const b = await attach(path, clock);
    expect(b.pool.state.accountCooldowns.get("personal")).toEqual({
      until: now + HOUR,
      reason: "5-hour usage window spent",
      code: "1308",
    });
    expect(b.pool.state.disabledKeys.get("spare")?.code).toBe("1001");
    expect(b.pool.state.keyCooldowns.get("work")?.until).toBe(now + 60_000);
    expect(b.pool.state.unavailable.get(pairKey("work", "glm-5"))?.code).toBe("1113");
    expect(b.limits.limit("personal", "glm-4.7")).toBe(5);
    expect(b.pool.blocker("personal", "glm-4.7", now)?.kind).toBe("account-cooling");
    await b.sync.close();
  });

  it("a process that starts later waits as long before trying a limit one higher as the one that was refused", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    // Refused above anything admitted (configured too high): the next try one higher waits 4 × 20 clean completions.
    learnLimit(a.limits, "personal", "glm-4.7", 5);
    const patience = a.limits.get("personal", "glm-4.7").probeAfter;
    expect(patience).toBeGreaterThan(20);
    await a.sync.close();

    const b = await attach(path, clock);
    expect(b.limits.limit("personal", "glm-4.7")).toBe(5);
    expect(b.limits.get("personal", "glm-4.7").probeAfter).toBe(patience);
    for (let i = 0; i < 20; i++)
      b.limits.completed("personal", "glm-4.7", true, b.limits.get("personal", "glm-4.7").epoch);
    expect(b.limits.limit("personal", "glm-4.7")).toBe(5); // not tried again after the default 20
    await b.sync.close();
  });

  it("writes the proven limit, not a try one higher still under way, and lets that try go on", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    learnLimit(a.limits, "personal", "glm-4.7", 5);
    for (let i = 0; i < a.limits.get("personal", "glm-4.7").probeAfter; i++)
      a.limits.completed("personal", "glm-4.7", true, a.limits.get("personal", "glm-4.7").epoch);
    expect(a.limits.limit("personal", "glm-4.7")).toBe(6); // trying 6
    await a.sync.syncNow();
    expect((await readJson(path)).providers[PROVIDER]!.limits.personal?.["glm-4.7"]?.limit).toBe(5);
    expect(a.limits.limit("personal", "glm-4.7")).toBe(6);
    const b = await attach(path, clock);
    expect(b.limits.limit("personal", "glm-4.7")).toBe(5);
    await a.sync.close();
    await b.sync.close();
  });

  it("shows one process's new cooldown to another within one interval, without a per-request read", async () => {
    const path = await tempStatePath();
    const clockA = new FakeClock();
    const clockB = new FakeClock();
    const a = await attach(path, clockA);
    const b = await attach(path, clockB);
    const until = clockA.now() + HOUR;
    a.pool.coolAccount("work", { until, reason: "weekly/monthly limit spent", code: "1310" });
    clockA.advance(2000);
    await a.sync.syncNow();
    expect(b.pool.state.accountCooldowns.has("work")).toBe(false);
    clockB.advance(2000);
    await b.sync.syncNow();
    expect(b.pool.state.accountCooldowns.get("work")?.until).toBe(until);
    await Promise.all([a.sync.close(), b.sync.close()]);
  });

  it("tells when a sync changed the pool, so waiting requests can look again", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    let changes = 0;
    const a = await attach(path, clock);
    const b = await attach(path, clock, makeProcess(), { onChange: () => changes++ });
    await b.sync.syncNow();
    expect(changes).toBe(0);
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.syncNow();
    await b.sync.syncNow();
    expect(changes).toBe(1);
    await b.sync.syncNow();
    expect(changes).toBe(1);
    await Promise.all([a.sync.close(), b.sync.close()]);
  });

  it("writes only when something changed", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const fs = countingFs();
    const a = await attach(path, clock, makeProcess(), { fs });
    await a.sync.syncNow();
    expect(fs.writes).toBe(0);
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.syncNow();
    await a.sync.syncNow();
    clock.advance(2000);
    await a.sync.syncNow();
    expect(fs.writes).toBe(1);
    await a.sync.close();
  });

  it("spreads a model that served again (memory dropped the pair) to the file", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    a.pool.markUnavailable("work", "glm-5", "1113", false, clock.now() + HOUR);
    await a.sync.syncNow();
    a.pool.markServed("work", "glm-5");
    await a.sync.syncNow();
    expect((await readJson(path)).providers[PROVIDER]!.unavailable).toEqual({});
    await a.sync.close();
  });

  it("drops an entry a running process still holds once a reset marker covers it", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    a.pool.coolAccount("personal", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await a.sync.syncNow();
    clock.advance(1000);
    const file = await readJson(path);
    file.providers[PROVIDER]!.resets.all = clock.now();
    await writeFile(path, JSON.stringify(file));
    clock.advance(1000);
    await a.sync.syncNow();
    expect(a.pool.state.accountCooldowns.has("personal")).toBe(false);
    expect((await readJson(path)).providers[PROVIDER]!.accountCooldowns).toEqual({});
    await a.sync.close();
  });

  it("re-enables a key once its disabled entry is a day old", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock(Date.UTC(2026, 10, 23), { autoAdvance: false });
    const a = await attach(path, clock, makeProcess(), { intervalMs: HOUR });
    a.pool.disableKey("spare", "rejected (401)", "1001", clock.now());
    await a.sync.syncNow();
    clock.advance(25 * HOUR);
    await a.sync.syncNow();
    expect(a.pool.state.disabledKeys.has("spare")).toBe(false);
    await a.sync.close();
  });

  it("ignores, but keeps, entries for keys no longer configured", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const a = await attach(path, clock);
    a.pool.disableKey("spare", "rejected (401)", "1001", clock.now());
    await a.sync.close();
    const replaced = makeProcess([
      ...makeProcess().keys.filter((k) => k.id !== "spare"),
      { ...makeProcess().keys[1]!, apiKey: "sk-test-new" },
    ]);
    const b = await attach(path, clock, replaced);
    expect(b.pool.state.disabledKeys.size).toBe(0);
    await b.sync.close();
    expect(Object.keys((await readJson(path)).providers[PROVIDER]!.disabledKeys)).toEqual([
      fingerprint("sk-test-spare"),
    ]);
  });

  it("keeps other providers' sections", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const zai = await attach(path, clock);
    const zhipu = await attach(path, clock, makeProcess(), { provider: "zhipuai-coding-plan" });
    zai.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    zhipu.pool.coolAccount("personal", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    await zai.sync.syncNow();
    await zhipu.sync.syncNow();
    const file = await readJson(path);
    expect(Object.keys(file.providers[PROVIDER]!.accountCooldowns)).toHaveLength(1);
    expect(Object.keys(file.providers["zhipuai-coding-plan"]!.accountCooldowns)).toEqual(["personal"]);
    await Promise.all([zai.sync.close(), zhipu.sync.close()]);
  });

  it("syncs on its timer and stops it on close", async () => {
    const path = await tempStatePath();
    const clock = new FakeClock();
    const fs = countingFs();
    const a = await attach(path, clock, makeProcess(), { fs, intervalMs: 2000 });
    expect(clock.pendingTimers()).toBe(1);
    a.pool.coolAccount("work", { until: clock.now() + HOUR, reason: "r", code: "1308" });
    clock.advance(2000);
    await a.sync.syncNow();
    expect(fs.writes).toBe(1);
    expect(clock.pendingTimers()).toBe(1);
    await a.sync.close();
    expect(clock.pendingTimers()).toBe(0);
  });
});
