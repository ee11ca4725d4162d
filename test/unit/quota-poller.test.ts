import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../src/config/keys.js";
import { keysFileSchema } from "../../src/config/schema.js";
import { MIN_POLL_GAP_MS, QuotaPoller, type TaskQueue } from "../../src/quota/poller.js";
import { FakeClock } from "../helpers/fake-clock.js";

const BASE = "http://127.0.0.1:9/api/coding/paas/v4";
const settings = (over: object = {}) =>
  keysFileSchema.parse({ quota: { pollIntervalMs: 60_000, pollEveryCompletions: 3, ...over } }).quota;
const key = (account: string): ApiKey => ({
  id: `${account}-1`,
  label: `${account}-1`,
  apiKey: `sk-test-${account}`,
  account,
  provider: "zai-coding-plan",
  source: "file",
});

function answer(percentage: number): string {
  return JSON.stringify({
    code: 200,
    success: true,
    data: { level: "pro", limits: [{ type: "TOKENS_LIMIT", unit: 3, number: 5, percentage }] },
  });
}

/** Runs tasks at once, no rate limit: the poller's own rules are what is under test. */
const direct: TaskQueue = { add: (task) => task(), clear: () => {} };

function rig(options: { over?: object; respond?: (url: string, auth: string) => Promise<Response> } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 10, 30, 8, 0, 0), { autoAdvance: false });
  const calls: Array<{ url: string; auth: string }> = [];
  const debug: string[] = [];
  const badKeys: string[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization") ?? "";
    calls.push({ url: String(url), auth });
    return options.respond ? options.respond(String(url), auth) : new Response(answer(40), { status: 200 });
  }) as typeof globalThis.fetch;
  const poller = new QuotaPoller(["a", "b"], {
    settings: settings(options.over),
    clock,
    timers: clock,
    fetch,
    queue: direct,
    keyFor: key,
    onDebug: (m) => debug.push(m),
    onBadKey: (account, k, a) => badKeys.push(`${account}/${k.id}: ${a.code}`),
  });
  return { clock, calls, debug, badKeys, poller };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("QuotaPoller", () => {
  it("reads every account once at start, from the origin of the chat URL, with the raw key", async () => {
    const { calls, poller } = rig();
    poller.start(BASE);
    poller.start(BASE);
    await settle();
    expect(calls).toEqual([
      { url: "http://127.0.0.1:9/api/monitor/usage/quota/limit", auth: "sk-test-a" },
      { url: "http://127.0.0.1:9/api/monitor/usage/quota/limit", auth: "sk-test-b" },
    ]);
    expect(poller.reading("a")?.fiveHour?.percentage).toBe(40);
  });

  it("re-reads an account near the threshold every few requests sent (not more often than the gap); one far from it, not", async () => {
    const percent: Record<string, number> = { "sk-test-a": 90, "sk-test-b": 10 };
    const { clock, calls, poller } = rig({ respond: async (_url, auth) => new Response(answer(percent[auth]!)) });
    poller.start(BASE);
    await settle();
    const send = (account: string, n: number) => {
      for (let i = 0; i < n; i++) poller.sent(account);
    };
    send("b", 10);
    send("a", 2);
    await settle();
    expect(calls).toHaveLength(2);
    percent["sk-test-a"] = 91.5;
    clock.advance(MIN_POLL_GAP_MS);
    send("a", 1); // 3 requests since a's reading, 5 points below the threshold, no rate yet: read
    await settle();
    expect(calls.map((c) => c.auth)).toEqual(["sk-test-a", "sk-test-b", "sk-test-a"]);
    expect(poller.projected("a")?.fiveHour?.percentage).toBeCloseTo(91.5);
    send("a", 3); // calibrated at 0.5 points per request: projected 93, within 3 points, but within the gap
    await settle();
    expect(calls).toHaveLength(3);
    expect(poller.projected("a")?.fiveHour?.percentage).toBeCloseTo(93);
    clock.advance(MIN_POLL_GAP_MS);
    send("a", 1);
    await settle();
    expect(calls).toHaveLength(4);
    expect(poller.polls).toBe(4);
  });

  it("counts tokens of each answer and reads again soon when a reading disagrees with its projection", async () => {
    const percent: Record<string, number> = { "sk-test-a": 50, "sk-test-b": 10 };
    const { clock, calls, poller } = rig({ respond: async (_url, auth) => new Response(answer(percent[auth]!)) });
    poller.start(BASE);
    await settle();
    for (let i = 0; i < 3; i++) poller.sent("a");
    poller.used("a", { promptTokens: 1000, completionTokens: 200, cachedTokens: 800 });
    expect(poller.view("a")?.since).toEqual({ requests: 3, tokens: 1200, tokened: 1, cached: 800 });
    percent["sk-test-a"] = 53; // the periodic read: 1 point per request (4/3 with the point whole percentages hide)
    clock.advance(60_000);
    poller.tick();
    await settle();
    expect(poller.view("a")?.rate.fiveHour?.perRequest).toBeCloseTo(4 / 3);
    percent["sk-test-a"] = 60; // 3 more requests: 57 projected, 60 read — off by 3 points
    for (let i = 0; i < 3; i++) poller.sent("a");
    clock.advance(60_000);
    poller.tick();
    await settle();
    const before = calls.length;
    clock.advance(MIN_POLL_GAP_MS);
    for (let i = 0; i < 3; i++) poller.sent("a"); // far from the threshold, but unsure: read after 3 requests
    await settle();
    expect(calls.length).toBe(before + 1);
  });

  it("reads only accounts in use at the periodic pass, and nothing while idle; holds no timer", async () => {
    const { clock, calls, poller } = rig();
    poller.start(BASE);
    await settle();
    expect(clock.pendingTimers()).toBe(0);
    poller.sent("b");
    clock.advance(59_000);
    poller.tick();
    await settle();
    expect(calls).toHaveLength(2);
    clock.advance(1_000);
    poller.tick();
    await settle();
    expect(calls.map((c) => c.auth)).toEqual(["sk-test-a", "sk-test-b", "sk-test-b"]);
    clock.advance(10 * 60_000);
    poller.tick();
    await settle();
    expect(calls).toHaveLength(3);
  });

  it("never has two reads of one account in flight, and gives up on a hanging one after the timeout", async () => {
    const { clock, calls, debug, poller } = rig({ respond: () => new Promise<Response>(() => {}) });
    poller.start(BASE);
    void poller.poll("a");
    void poller.poll("a");
    await settle();
    expect(calls.filter((c) => c.auth === "sk-test-a")).toHaveLength(1);
    // A fetch that ignores its signal still ends the read: the timeout answers `unknown`.
    clock.advance(10_000);
    await settle();
    expect(debug.some((m) => m.includes("no answer within 10000 ms"))).toBe(true);
  });

  it("reports a key refused in a 200 body, and logs unknown shapes in one line", async () => {
    const { badKeys, debug, poller } = rig({
      respond: async (_url, auth) =>
        auth === "sk-test-a"
          ? new Response('{"code":401,"msg":"token expired or incorrect","success":false}')
          : new Response("<html>502</html>", { status: 502 }),
    });
    poller.start(BASE);
    await settle();
    expect(badKeys).toEqual(["a/a-1: 401"]);
    expect(debug).toEqual(["quota of b (key b-1) not read: HTTP 502, HTML (16 bytes)"]);
    expect(poller.reading("a")).toBeUndefined();
  });

  it("takes a recent reading of another process until its own first read answers, then its own", async () => {
    const { clock, poller } = rig();
    const theirs = { at: clock.now() - 30_000, fiveHour: { type: "TOKENS_LIMIT", percentage: 96 } };
    poller.seed("a", theirs);
    poller.seed("b", { ...theirs, at: clock.now() - 61_000 }); // older than pollIntervalMs: not taken
    expect(poller.projected("a")?.fiveHour?.percentage).toBe(96);
    expect(poller.reading("b")).toBeUndefined();
    poller.seed("a", { ...theirs, fiveHour: { type: "TOKENS_LIMIT", percentage: 10 } }); // one is kept, not replaced
    expect(poller.reading("a")?.fiveHour?.percentage).toBe(96);
    poller.start(BASE);
    await settle();
    expect(poller.reading("a")?.fiveHour?.percentage).toBe(40);
  });

  it("reads nothing when turned off", async () => {
    const { calls, clock, poller } = rig({ over: { enabled: false } });
    poller.start(BASE);
    poller.sent("a");
    clock.advance(600_000);
    await settle();
    expect(calls).toHaveLength(0);
  });
});
