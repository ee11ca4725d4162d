import { describe, expect, it } from "vitest";
import { formatBeijingStamp } from "../../simulator/stamp.js";
import { looksRetryableToOpenCode } from "../../src/fetch/opencode-retry.js";
import { Redactor } from "../../src/util/redact.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  harness,
  keys,
  rateLimited1302,
  scriptedUpstream,
  sseOk,
  usageLimit1308,
  zaiError,
} from "../helpers/scripted.js";

const sse = (text: string) => new Response(text, { headers: { "content-type": "text/event-stream" } });
const json200 = (text: string) => new Response(text, { headers: { "content-type": "application/json" } });

/** A JSON body that breaks after `head` (a reset mid-body). */
function cutJson(head: string): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(head));
      controller.error(new TypeError("terminated: other side closed"));
    },
  });
  return new Response(body, { headers: { "content-type": "application/json" } });
}

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("in-body business codes are the same as HTTP ones", () => {
  it("a 1302 inside a 200 SSE stream lowers the learned limit exactly like a 429 1302", async () => {
    const limitsAfter: number[] = [];
    for (const refusal of [
      () => sse(`data: {"error":{"code":"1302","message":"High concurrency"}}\n\n`),
      rateLimited1302,
    ]) {
      const upstream = scriptedUpstream((_c, n) => (n === 1 ? refusal() : sseOk()));
      // No cancel grace (the in-stream refusal's stream is cut; lease-outcomes.test.ts covers that grace): the fake
      // clock would never reach its end.
      const h = harness({
        keys: keys("A:sk-a"),
        upstream,
        settings: { models: { "glm-4.7": { maxConcurrency: 4 } }, retry: { cancelGraceMs: 0 } },
      });
      const res = await h.call();
      expect(res.status).toBe(200);
      await res.text();
      expect(h.events.flatMap((e) => (e.type === "outcome" ? [e.verdict] : []))).toEqual(["concurrency", "ok"]);
      limitsAfter.push(h.fetch.limits.limit("A", "glm-4.7"));
      expect(h.fetch.leases.totalInFlight()).toBe(0);
    }
    expect(limitsAfter[0]).toBeLessThan(4);
    expect(limitsAfter[0]).toBe(limitsAfter[1]);
  });

  it("a 1308 inside a 200 SSE stream (CR-only line endings) cools the account until its reset", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 3_600_000;
    const frame = `event: error\rdata: {"error":{"code":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at ${formatBeijingStamp(reset)}"}}\r\r`;
    const upstream = scriptedUpstream((c) => (c.key === "sk-a" ? sse(frame) : sseOk()));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock });
    const res = await h.call();
    expect(res.status).toBe(200);
    expect(upstream.calls.map((c) => c.key)).toEqual(["sk-a", "sk-b"]);
    expect(h.toasts.map((t) => t.message).join()).toMatch(/Account "A" used up its 5-hour usage window \(1308\)/);
  });

  it("a 1302 inside a 200 JSON body is retried, not handed over as a success", async () => {
    const upstream = scriptedUpstream((_c, n) =>
      n === 1 ? json200(`{"error":{"code":1302,"message":"High concurrency"}}`) : json200(`{"choices":[]}`),
    );
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    const res = await h.call();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`{"choices":[]}`);
    expect(upstream.calls).toHaveLength(2);
  });
});

describe("broken successes are retried before any byte reaches the caller", () => {
  it("a 200 HTML gateway page is a retryable upstream failure", async () => {
    const html = () =>
      new Response("<html><body>502 Bad Gateway</body></html>", { headers: { "content-type": "text/html" } });
    const upstream = scriptedUpstream((_c, n) => (n === 1 ? html() : sseOk()));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    const res = await h.call();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(upstream.calls).toHaveLength(2);
  });

  it("answers a clear retryable 429 when only HTML pages come back", async () => {
    const upstream = scriptedUpstream(
      () =>
        new Response("<!doctype html><title>oops</title>", { headers: { "content-type": "text/html; charset=utf-8" } }),
    );
    const h = harness({ keys: keys("A:sk-a"), upstream, settings: { retry: { maxAttempts: 2 } } });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect((await errorOf(res)).message).toMatch(/HTML page with status 200/);
  });

  it("a non-streaming JSON body cut by a reset mid-body is retried", async () => {
    const upstream = scriptedUpstream((_c, n) =>
      n === 1 ? cutJson(`{"choices":[{"message":{"content":"hal`) : json200(`{"choices":[]}`),
    );
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    const res = await h.call("glm-4.7", undefined, { body: JSON.stringify({ model: "glm-4.7", stream: false }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ choices: [] });
    expect(upstream.calls).toHaveLength(2);
    expect(h.fetch.leases.totalInFlight()).toBe(0);
  });

  it("a complete JSON body that is not JSON at all (truncated to nothing parseable) is retried", async () => {
    const upstream = scriptedUpstream((_c, n) => (n === 1 ? json200(`{"choices":[`) : json200(`{"ok":true}`)));
    const h = harness({ keys: keys("A:sk-a"), upstream });
    const res = await h.call();
    expect(await res.json()).toEqual({ ok: true });
  });
});

describe("when nothing can serve", () => {
  it("retry.maxWaitMs gives up at once with a final answer naming accounts and reset times", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 3 * 3_600_000;
    const upstream = scriptedUpstream(() => usageLimit1308(formatBeijingStamp(reset)));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock, settings: { retry: { maxWaitMs: 60_000 } } });
    const res = await h.call();
    expect(res.status).toBe(403);
    expect(res.headers.get("x-should-retry")).toBe("false");
    const error = await errorOf(res);
    expect(error.code).toBe("all_cooling");
    expect(error.message).toMatch(/A: 5-hour usage window spent \(1308\) until .* B: 5-hour usage window spent/);
    expect(looksRetryableToOpenCode(error.message)).toBe(false);
    expect(h.toasts.at(-1)?.message).toMatch(/every account is cooling/);
    expect(clock.sleeps).toEqual([]);
  });

  it("tells at once, in a toast, that every account is cooling, even when it waits", async () => {
    const clock = new FakeClock();
    const upstream = scriptedUpstream(() => zaiError(429, "", "slow down", { "retry-after": "20" }));
    const h = harness({ keys: keys("A:sk-a"), upstream, clock, settings: { retry: { maxAttempts: 1 } } });
    await h.call();
    expect(h.toasts.some((t) => /every account is cooling for glm-4.7.*Waiting 20 s/.test(t.message))).toBe(true);
  });

  it("1211 names the models the account can be asked for", async () => {
    const upstream = scriptedUpstream(() => zaiError(400, "1211", "Unknown Model, please check the model code"));
    const h = harness({ keys: keys("A:sk-a"), upstream });
    const error = await errorOf(await h.call("glm-9"));
    expect(error.code).toBe("1211");
    expect(error.message).toMatch(/Models account "A" can be asked for: .*glm-4\.7/);
  });

  it("the China endpoint's 1113 hint points at open.bigmodel.cn", async () => {
    const upstream = scriptedUpstream(() => zaiError(429, "1113", "Insufficient balance or no resource package"));
    const h = harness({ keys: keys("A:sk-a"), upstream, provider: "zhipuai-coding-plan" });
    const res = await h.call("glm-4.7", "https://open.bigmodel.cn/api/paas/v4/chat/completions");
    expect((await errorOf(res)).message).toContain("https://open.bigmodel.cn/api/coding/paas/v4");
    expect(JSON.stringify(h.toasts)).not.toContain("api.z.ai");
  });
});

describe("Redactor", () => {
  const key = "sk-test-0123456789abcdefghijKLMN";
  const r = new Redactor([key]);

  it("masks a whole key but for its last four characters", () => {
    expect(r.redact(`bad key ${key}!`)).toBe("bad key ***KLMN!");
  });

  it("masks any 12+ character fragment of a configured key", () => {
    const out = r.redact(`prefix ${key.slice(3, 20)} and ${key.slice(10)} end`);
    expect(out).not.toContain(key.slice(3, 15));
    expect(out).not.toContain(key.slice(10, 22));
    expect(out).toMatch(/^prefix \*\*\* and \*\*\* end$/);
  });

  it("keeps fragments shorter than 12 characters (they identify nothing)", () => {
    expect(r.redact(`id ${key.slice(0, 11)}`)).toBe(`id ${key.slice(0, 11)}`);
  });

  it("masks Bearer tokens, named credentials and Z.AI-shaped keys it was not told about", () => {
    const zaiShaped = `${"ab12".repeat(8)}.${"Xy9".repeat(5)}Z`;
    const out = r.redact(`Authorization: Bearer other-secret-token; api_key=abcdefgh12345; k=${zaiShaped}`);
    expect(out).not.toContain("other-secret-token");
    expect(out).not.toContain("abcdefgh12345");
    expect(out).not.toContain(zaiShaped);
  });

  it("redacts every string inside nested values", () => {
    expect(r.redactDeep({ a: [`x ${key}`], b: 3 })).toEqual({ a: ["x ***KLMN"], b: 3 });
  });
});

describe("retries_exhausted tells OpenCode when to come back", () => {
  it("after 1 s while another account can still serve, not when a cooling account's window resets", async () => {
    const clock = new FakeClock();
    const reset = clock.now() + 90 * 60_000;
    const upstream = scriptedUpstream((c) =>
      c.key === "sk-a" ? usageLimit1308(formatBeijingStamp(reset)) : zaiError(503, "", "unavailable"),
    );
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock, settings: { retry: { maxAttempts: 3 } } });
    const res = await h.call();
    expect(res.status).toBe(429);
    expect((await errorOf(res)).code).toBe("retries_exhausted");
    expect(res.headers.get("retry-after-ms")).toBe("1000");
  });
});
