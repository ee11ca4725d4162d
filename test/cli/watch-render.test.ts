import { describe, expect, it } from "vitest";
import { appendEvents, type LoggedEvent } from "../../src/state/event-log.js";
import { parseCommand } from "../../src/cli/args.js";
import { projectedAtReset, watchModel, type WatchInput } from "../../src/cli/watch-model.js";
import { bar, renderWatch } from "../../src/cli/watch-render.js";
import type { AccountStatus } from "../../src/cli/status-report.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const account = (name: string, over: Partial<AccountStatus> = {}): AccountStatus => ({
  account: name,
  usable: true,
  why: undefined,
  cooling: undefined,
  disabled: undefined,
  keys: [],
  limits: [],
  unavailable: [],
  ...over,
});
const holder = (pid: number) => ({ host: "box", pid });
const input = (over: Partial<WatchInput> = {}): WatchInput => ({
  provider: "zai-coding-plan",
  now: NOW,
  ledger: {
    kind: "machine",
    state: "ok",
    detail: "coordinator: pid 1",
    pairs: [
      { account: "alpha", model: "glm-4.7", inFlight: 3, holders: [holder(101), holder(202)], queued: 2 },
      { account: "beta", model: "glm-4.7", inFlight: 1, holders: [holder(202)], queued: 0 },
    ],
  },
  accounts: [
    {
      ...account("alpha"),
      quota: {
        level: "pro",
        fiveHour: { percent: 50, resetAt: new Date(NOW + 2.5 * 3_600_000).toISOString() },
        weekly: undefined,
        readAt: new Date(NOW).toISOString(),
        sessions: 1,
      },
    },
    account("beta", { usable: false, why: "cooling until 13:00:00 (in 60 min): 5-hour usage window spent (1308)" }),
  ],
  limitOf: (a) => (a === "alpha" ? { limit: 3, learned: true } : { limit: 5, learned: false }),
  events: [{ at: NOW - 5_000, provider: "zai-coding-plan", pid: 101, text: "1302 alpha/glm-4.7 key a1: rate-limited" }],
  ...over,
});

describe("status --watch frame (pure)", () => {
  it("per account and model: in flight / limit, waiting, holders; windows with projection; events", () => {
    const text = renderWatch(watchModel(input()), { width: 80 }).join("\n");
    expect(text).toContain("glm-4.7        [████████] 3/3 (learned) in flight, 2 waiting  box:101 box:202");
    expect(text).toContain("glm-4.7        [██░░░░░░] 1/5 in flight  box:202");
    expect(text).toMatch(/5-hour \[█{10}░{10}\] {2}50% → ~100% resets \d\d:\d\d:\d\d \(in 2h 30m\)/);
    expect(text).toContain("beta  cooling until 13:00:00");
    expect(text).toContain("1302 alpha/glm-4.7 key a1: rate-limited");
  });

  it("fits 80 columns and has no colour unless asked", () => {
    const long = input({ events: [{ at: NOW, provider: "zai-coding-plan", pid: 1, text: "x".repeat(300) }] });
    const lines = renderWatch(watchModel(long), { width: 80 });
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines.join("")).not.toContain("\u001b[");
    expect(renderWatch(watchModel(long), { width: 80, color: true }).join("")).toContain("\u001b[");
  });

  it("changes as the load changes", () => {
    const learned = { model: "glm-4.7", limit: 3, start: 5, learnedAt: new Date(NOW).toISOString() };
    const [alpha, beta] = input().accounts;
    const idle = input({
      ledger: { ...input().ledger, pairs: [] },
      accounts: [{ ...alpha!, limits: [learned] }, beta!],
    });
    const text = renderWatch(watchModel(idle)).join("\n");
    expect(text).toContain("glm-4.7        [░░░░░░░░] 0/3 (learned) in flight");
    expect(text).toContain("nothing in flight");
    expect(text).not.toContain("waiting");
  });

  it("shows another provider's events not at all, and only the newest few", () => {
    const events: LoggedEvent[] = Array.from({ length: 10 }, (_, i) => ({
      at: NOW - i,
      provider: i === 0 ? "zhipuai-coding-plan" : "zai-coding-plan",
      pid: 1,
      text: `e${i}`,
    }));
    const model = watchModel(input({ events: appendEvents([], events), maxEvents: 3 }));
    expect(model.events.map((e) => e.text)).toEqual(["e3", "e2", "e1"]);
  });
});

describe("parts", () => {
  it("bar and projection", () => {
    expect(bar(0, 4, 4)).toBe("[░░░░]");
    expect(bar(9, 4, 4)).toBe("[████]");
    expect(projectedAtReset(50, NOW + 2.5 * 3_600_000, 5 * 3_600_000, NOW)).toBe(100);
    expect(projectedAtReset(1, NOW + 5 * 3_600_000 - 60_000, 5 * 3_600_000, NOW)).toBeUndefined();
  });

  it("the events record keeps the newest, oldest first", () => {
    const e = (at: number): LoggedEvent => ({ at, provider: "p", pid: 1, text: String(at) });
    expect(appendEvents([e(1), e(3)], [e(2), e(4)], 3).map((x) => x.at)).toEqual([2, 3, 4]);
  });

  it("--watch and --interval", () => {
    expect(parseCommand(["status", "--watch"])).toMatchObject({ kind: "status", watch: { intervalMs: 1000 } });
    expect(parseCommand(["status", "--watch", "--interval", "250"])).toMatchObject({ watch: { intervalMs: 250 } });
    expect(parseCommand(["status", "--interval", "250"]).kind).toBe("usage-error");
    expect(parseCommand(["status", "--watch", "--json"]).kind).toBe("usage-error");
  });
});
