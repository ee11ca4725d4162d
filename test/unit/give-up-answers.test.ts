/**
 * Paths issue 9 named as untested: the queue-timeout 429, content-encoding stripped from rebuilt answers, the
 * next-chance computation (retry-after of all_cooling / retries_exhausted) and the SSE peek byte limit.
 */
import { describe, expect, it } from "vitest";
import { formatBeijingStamp } from "../../simulator/stamp.js";
import { createAnswers, Redactor } from "../../src/lib.js";
import { MAX_PEEK_BYTES, peekFirstEvent } from "../../src/fetch/sse-peek.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { harness, keys, scriptedUpstream, sseOk, usageLimit1308, zaiError } from "../helpers/scripted.js";

const encoder = new TextEncoder();

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

/** A 200 event stream that sends one content event and then stays open until cancelled. */
function openStream(): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n'));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!check()) throw new Error("condition not met");
}

describe("queue_timeout", () => {
  it("answers 429 queue_timeout with a 1 s retry-after once maxQueueWaitMs has passed without a free slot", async () => {
    const upstream = scriptedUpstream(() => openStream());
    const h = harness({
      keys: keys("A:sk-a"),
      upstream,
      settings: { models: { "glm-4.7": { maxConcurrency: 1, adaptive: false } }, retry: { maxQueueWaitMs: 5_000 } },
    });
    const holding = await h.call();
    expect(holding.status).toBe(200);
    const queued = h.call();
    await settle(() => h.fetch.leases.waiting() === 1);
    h.clock.advance(4_999);
    expect(h.fetch.leases.waiting()).toBe(1);
    h.clock.advance(1);
    const res = await queued;
    expect(res.status).toBe(429);
    expect(res.headers.get("x-zai-multi-account")).toBe("queue_timeout");
    expect(res.headers.get("retry-after-ms")).toBe("1000");
    expect((await errorOf(res)).message).toMatch(/waited .+ for a free glm-4\.7 slot; A: 1\/1 in flight/);
    expect(upstream.calls).toHaveLength(1);
    expect(h.fetch.leases.waiting()).toBe(0);
    await holding.body!.cancel();
  });
});

describe("content-encoding on rebuilt answers", () => {
  const encoded = { "content-encoding": "gzip", "content-length": "999", "transfer-encoding": "chunked" };

  it("answers.rebuilt drops content-encoding, content-length and transfer-encoding, keeps the rest", async () => {
    const answers = createAnswers(new Redactor(["sk-test-secret-key-0001"]));
    const upstream = new Response("ignored", {
      status: 400,
      statusText: "Bad Request",
      headers: { ...encoded, "x-request-id": "r1" },
    });
    const res = answers.rebuilt(upstream, '{"error":{"code":"1210","message":"bad"}}');
    expect(res.status).toBe(400);
    expect(res.statusText).toBe("Bad Request");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("transfer-encoding")).toBeNull();
    expect(res.headers.get("content-length")).not.toBe("999");
    expect(res.headers.get("x-request-id")).toBe("r1");
    expect(await res.text()).toBe('{"error":{"code":"1210","message":"bad"}}');
  });

  it.each([
    [
      "a passed-through 4xx",
      () => zaiError(400, "1210", "Invalid API parameter", { "content-encoding": "gzip", "content-length": "41" }),
      400,
    ],
    [
      "a served JSON completion",
      () =>
        new Response('{"choices":[{"message":{"content":"hi"}}]}', {
          headers: { "content-type": "application/json", "content-encoding": "br", "content-length": "7" },
        }),
      200,
    ],
    [
      "a served stream",
      () => {
        const r = sseOk();
        const h = new Headers(r.headers);
        h.set("content-encoding", "gzip");
        h.set("content-length", "3");
        return new Response(r.body, { headers: h });
      },
      200,
    ],
  ])("the fetch hands on %s decoded, without its encoding or length", async (_name, answer, status) => {
    const h = harness({ keys: keys("A:sk-a"), upstream: scriptedUpstream(answer) });
    const res = await h.call();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("content-length")).toBeNull();
    await res.text();
  });
});

describe("next chance: the retry-after of all_cooling and retries_exhausted", () => {
  it("all_cooling: the earliest end among the accounts' cooldowns", async () => {
    const clock = new FakeClock();
    const ends: Record<string, number> = { "sk-a": clock.now() + 40 * 60_000, "sk-b": clock.now() + 25 * 60_000 };
    const upstream = scriptedUpstream((c) => usageLimit1308(formatBeijingStamp(ends[c.key]!)));
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream, clock });
    const res = await h.call();
    expect(res.headers.get("x-zai-multi-account")).toBe("all_cooling");
    expect(res.headers.get("retry-after-ms")).toBe(String(25 * 60_000));
    expect(res.headers.get("retry-after")).toBe(String(25 * 60));
  });

  it("retries_exhausted with nothing cooling: 1 s", async () => {
    const h = harness({
      keys: keys("A:sk-a"),
      upstream: scriptedUpstream(() => new Response("bad gateway", { status: 502 })),
      settings: { retry: { maxAttempts: 2 } },
    });
    const res = await h.call();
    expect(res.headers.get("x-zai-multi-account")).toBe("retries_exhausted");
    expect(res.headers.get("retry-after-ms")).toBe("1000");
  });

  it("retries_exhausted while another account cools briefly: the end of that cooldown, never under 1 s", async () => {
    const clock = new FakeClock();
    const upstream = scriptedUpstream((c) =>
      c.key === "sk-a" ? zaiError(429, "", "slow down", { "retry-after": "4" }) : new Response("down", { status: 503 }),
    );
    const h = harness({
      keys: keys("A:sk-a", "B:sk-b"),
      upstream,
      clock,
      settings: { retry: { maxAttempts: 3, maxCooldownWaitMs: 0 } },
    });
    const res = await h.call();
    expect(res.headers.get("x-zai-multi-account")).toBe("retries_exhausted");
    const wait = Number(res.headers.get("retry-after-ms"));
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThanOrEqual(4000);
  });
});

describe("SSE peek byte limit", () => {
  /** A stream of `size`-byte comment chunks (no data event), forever, counting what was pulled. */
  function commentsForever(size: number) {
    const pulled = { bytes: 0 };
    const chunk = encoder.encode(`: ${"x".repeat(size - 3)}\n`);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled.bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    return { body, pulled };
  }

  it("hands a stream on as content after MAX_PEEK_BYTES without a data event, having read no further", async () => {
    const { body, pulled } = commentsForever(8 * 1024);
    const peek = await peekFirstEvent(body);
    expect(peek.kind).toBe("content");
    const held = peek.kind === "content" ? peek.chunks.reduce((n, c) => n + c.byteLength, 0) : 0;
    expect(held).toBeGreaterThan(MAX_PEEK_BYTES);
    expect(held).toBeLessThanOrEqual(MAX_PEEK_BYTES + 8 * 1024);
    expect(pulled.bytes).toBeLessThanOrEqual(MAX_PEEK_BYTES + 3 * 8 * 1024); // the stream's own read-ahead at most
    if (peek.kind === "content") await peek.reader.cancel();
  });

  it("still finds an error event that comes before the limit", async () => {
    const padding = `: ${"x".repeat(MAX_PEEK_BYTES - 1024)}\n\n`;
    const body = new Response(`${padding}data: {"error":{"code":"1302","message":"busy"}}\n\n`).body!;
    const peek = await peekFirstEvent(body);
    expect(peek).toMatchObject({ kind: "error", error: { code: "1302" } });
  });
});
