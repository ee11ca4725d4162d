import { describe, expect, it } from "vitest";
import { formatBeijingStamp } from "../../simulator/stamp.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  harness,
  keys,
  rateLimited1302,
  scriptedUpstream,
  sseError,
  sseOk,
  usageLimit1308,
  zaiError,
} from "../helpers/scripted.js";

async function bodyOf(response: Response) {
  return (await response.json()) as { error: { code: string; message: string } };
}

describe("zai fetch: timing decisions on an injected clock", () => {
  it("cools an account until its 1308 reset (Beijing time) while the other serves, then uses it again", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 2 * 3_600_000;
    const upstream = scriptedUpstream((c) =>
      c.key === "sk-a" && clock.now() < reset ? usageLimit1308(formatBeijingStamp(reset)) : sseOk(),
    );
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock });
    expect((await h.call()).status).toBe(200);
    expect((await h.call()).status).toBe(200);
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-a", "sk-b", "sk-b"]);
    clock.advance(2 * 3_600_000);
    await h.call();
    await h.call();
    expect(
      upstream.calls
        .slice(3)
        .map((c) => c.key)
        .sort(),
    ).toEqual(["sk-a", "sk-b"]);
    expect(h.toasts.map((t) => t.message).join("\n")).toMatch(/Account "A" used up its 5-hour usage window \(1308\)/);
  });

  it("answers 429 with retry-after-ms equal to the real wait when every account is in its window", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 90 * 60_000;
    const upstream = scriptedUpstream(() => usageLimit1308(formatBeijingStamp(reset)));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after-ms")).toBe(String(90 * 60_000));
    expect(res.headers.get("retry-after")).toBe(String(90 * 60));
    expect((await bodyOf(res)).error.message).toMatch(
      /A: 5-hour usage window spent \(1308\) until .*B: 5-hour usage window spent/,
    );
    expect(upstream.calls).toHaveLength(2);
    const again = await h.call();
    expect(again.status).toBe(429);
    expect(upstream.calls).toHaveLength(2);
  });

  it("waits out a short key cooldown from Retry-After inside the plugin", async () => {
    const clock = new FakeClock();
    const upstream = scriptedUpstream((_c, n) =>
      n <= 2 ? zaiError(429, "", "slow down", { "retry-after": "5" }) : sseOk(),
    );
    const h = harness({ keys: keys("A/a1:sk-1", "A/a2:sk-2"), upstream, clock });
    const res = await h.call();
    expect(res.status).toBe(200);
    expect(clock.sleeps).toEqual([5000]);
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-1", "sk-2", "sk-1"]);
  });

  it("hands a long key cooldown to OpenCode as 429 instead of holding the request", async () => {
    const upstream = scriptedUpstream(() => zaiError(429, "", "slow down"));
    const h = harness({ keys: keys("A:sk-a"), upstream, settings: { rotation: { cooldownMs: 60_000 } } });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after-ms")).toBe("60000");
    expect(h.clock.sleeps).toEqual([]);
  });

  it("retries 5xx with exponential backoff and full jitter, bounded by maxAttempts", async () => {
    const upstream = scriptedUpstream(() => new Response("bad gateway", { status: 502 }));
    const h = harness({
      keys: keys("A:sk-a"),
      upstream,
      settings: { retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 3000 } },
      random: () => 0.5,
    });
    const res = await h.call();
    expect(upstream.calls).toHaveLength(4);
    expect(h.clock.sleeps).toEqual([500, 1000, 1500, 1500]);
    expect(res.status).toBe(429);
    expect((await bodyOf(res)).error.code).toBe("retries_exhausted");
  });

  it("moves a transient failure to another account at once when one has a free slot", async () => {
    const upstream = scriptedUpstream((c) => (c.key === "sk-a" ? zaiError(429, "1305", "overloaded") : sseOk()));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    expect((await h.call()).status).toBe(200);
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-a", "sk-b"]);
    expect(h.clock.sleeps).toEqual([]);
  });

  it("lowers the learned limit on a 1302 and serves the request elsewhere, without sleeping it", async () => {
    const upstream = scriptedUpstream((c, n) => (c.key === "sk-a" && n === 1 ? rateLimited1302() : sseOk()));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    expect((await h.call()).status).toBe(200);
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-a", "sk-b"]);
    expect(h.fetch.limits.limit("A", "glm-4.7")).toBe(1);
    expect(h.fetch.pool.blocker("A", "glm-4.7", h.clock.now())).toBeUndefined();
    expect(h.clock.sleeps).toEqual([]);
  });

  it("holds an account back after a 1302 that cannot lower its limit (someone else is using the account)", async () => {
    const upstream = scriptedUpstream((c, n) => (c.key === "sk-a" && n === 1 ? rateLimited1302() : sseOk()));
    const h = harness({
      keys: keys("A:sk-a", "B:sk-b"),
      upstream,
      settings: { models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    expect((await h.call()).status).toBe(200);
    expect(h.fetch.limits.limit("A", "glm-4.7")).toBe(1);
    expect(h.fetch.pool.blocker("A", "glm-4.7", h.clock.now())).toMatchObject({ kind: "held" });
  });

  it("checks the first SSE event and retries an in-stream 1305 before any content reaches the caller", async () => {
    const upstream = scriptedUpstream((_c, n) => (n === 1 ? sseError("1305") : sseOk("second")));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    const res = await h.call();
    expect(await res.text()).toContain("second");
    expect(upstream.calls).toHaveLength(2);
  });

  it("remembers an unavailable (account, model) and re-checks it after unavailableRecheckMs", async () => {
    const upstream = scriptedUpstream(() => zaiError(429, "1113", "Insufficient balance or no resource package"));
    const h = harness({ keys: keys("A:sk-a"), upstream, settings: { unavailableRecheckMs: 600_000 } });
    expect((await h.call("glm-5")).status).toBe(403);
    expect((await h.call("glm-5")).status).toBe(403);
    expect(upstream.calls).toHaveLength(1);
    h.clock.advance(600_000);
    await h.call("glm-5");
    expect(upstream.calls).toHaveLength(2);
  });

  it("gives up with retries_exhausted when the time budget is spent", async () => {
    const upstream = scriptedUpstream(() => new Response("down", { status: 503 }));
    const h = harness({
      keys: keys("A:sk-a"),
      upstream,
      settings: { retry: { maxAttempts: 50, budgetMs: 3000, baseDelayMs: 1000, maxDelayMs: 1000 } },
      random: () => 0.99,
    });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect(h.clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3000);
    expect(upstream.calls.length).toBeLessThan(6);
  });

  it("passes requests without a model through on a key, unthrottled", async () => {
    const upstream = scriptedUpstream(
      () => new Response(JSON.stringify({ data: [] }), { headers: { "content-type": "application/json" } }),
    );
    const h = harness({ keys: keys("A:sk-a"), upstream });
    const res = await h.fetch("https://api.z.ai/api/coding/paas/v4/models");
    expect(res.status).toBe(200);
    expect(upstream.calls[0]?.key).toBe("sk-a");
  });
});

describe("zai fetch: usage-window reset times", () => {
  it("honours a reset only seconds away, and rests a minute when the stated reset is already past", async () => {
    const clock = new FakeClock();
    const soon = clock.now() + 10_000;
    const upstream = scriptedUpstream((c) =>
      usageLimit1308(formatBeijingStamp(c.key === "sk-a" ? soon : clock.now() - 5000)),
    );
    const h = harness({
      keys: keys("A:sk-a", "B:sk-b"),
      upstream,
      clock,
      settings: { retry: { maxCooldownWaitMs: 0 } },
    });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect(h.fetch.pool.state.accountCooldowns.get("A")?.until).toBe(soon);
    expect(h.fetch.pool.state.accountCooldowns.get("B")?.until).toBe(clock.now() + 60_000);
    expect(res.headers.get("retry-after-ms")).toBe("10000");
  });
});

describe("zai fetch: rotation strategies", () => {
  async function accountsUsed(strategy: "round-robin" | "fill-first") {
    const upstream = scriptedUpstream(() => sseOk());
    const h = harness({ keys: keys("A:sk-a", "B:sk-b", "C:sk-c"), upstream, settings: { rotation: { strategy } } });
    for (let i = 0; i < 4; i++) await (await h.call()).text();
    return upstream.calls.map((c) => c.key);
  }

  it("round-robin spreads requests over accounts", async () => {
    expect(await accountsUsed("round-robin")).toEqual(["sk-a", "sk-b", "sk-c", "sk-a"]);
  });

  it("round-robin starts where told: processes sharing the accounts send their first sessions to different ones", async () => {
    const upstream = scriptedUpstream(() => sseOk());
    const h = harness({ keys: keys("A:sk-a", "B:sk-b", "C:sk-c"), upstream, rotationStart: 4 });
    const session = {
      headers: { "content-type": "application/json", "x-session-affinity": "s1" },
      body: JSON.stringify({ model: "glm-4.7", stream: true }),
    };
    await (await h.call("glm-4.7", undefined, session)).text();
    await (await h.call()).text();
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-b", "sk-c"]);
  });

  it("fill-first keeps to the first account while it has a free slot", async () => {
    expect(await accountsUsed("fill-first")).toEqual(["sk-a", "sk-a", "sk-a", "sk-a"]);
  });
});
