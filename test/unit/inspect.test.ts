import { describe, expect, it } from "vitest";
import type { LeaseOutcome } from "../../src/classify/outcomes.js";
import { createAnswers } from "../../src/fetch/answers.js";
import { inspect, type InspectDeps } from "../../src/fetch/inspect.js";
import { Redactor, type ApiKey } from "../../src/lib.js";
import { KeyPool } from "../../src/pool/key-pool.js";
import type { Lease, ReleaseEffect } from "../../src/leases/leases.js";
import { FakeClock } from "../helpers/fake-clock.js";

const URL = "https://api.z.ai/api/coding/paas/v4/chat/completions";
const SECRET = "sk-0123456789abcdef0123";

/** A lease that records how it ended. */
function recordingLease() {
  const ends: Array<[LeaseOutcome, boolean]> = [];
  let admitted = 0;
  const lease: Lease = {
    account: "A",
    model: "m",
    epoch: 0,
    othersInFlight: 0,
    saturated: false,
    grantedAt: 0,
    admitted: () => void admitted++,
    release(outcome, closedEarly = false): ReleaseEffect {
      ends.push([outcome, closedEarly]);
      return { limitLowered: outcome === "refused", explained: false };
    },
    get released() {
      return ends.length > 0;
    },
  };
  return { lease, ends, admitted: () => admitted };
}

function deps(): InspectDeps {
  const key: ApiKey = {
    id: "a1",
    label: "a1",
    apiKey: SECRET,
    account: "A",
    provider: "zai-coding-plan",
    source: "file",
  };
  const redactor = new Redactor([SECRET]);
  return { clock: new FakeClock(0), pool: new KeyPool([key]), redactor, answers: createAnswers(redactor) };
}

const sse = (...frames: string[]) =>
  new Response(frames.join(""), { status: 200, headers: { "content-type": "text/event-stream" } });
const json = (status: number, body: string, type = "application/json") =>
  new Response(body, { status, headers: { "content-type": type } });

describe("inspect()", () => {
  it("a served stream: admitted at once, the lease ends when the stream does", async () => {
    const { lease, ends, admitted } = recordingLease();
    const examined = await inspect(deps(), lease, URL, undefined, sse('data: {"choices":[]}\n\n', "data: [DONE]\n\n"));
    expect(examined.kind).toBe("deliver");
    expect(admitted()).toBe(1);
    expect(ends).toEqual([]);
    if (examined.kind === "deliver")
      expect(await examined.response.text()).toBe('data: {"choices":[]}\n\ndata: [DONE]\n\n');
    expect(ends).toEqual([["completed", false]]);
  });

  it("a 1302 at a stream's start: refused, and the slot is kept for the cancel grace (closed early)", async () => {
    const { lease, ends } = recordingLease();
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      sse('data: {"error":{"code":"1302","message":"High concurrency"}}\n\n'),
    );
    expect(examined).toMatchObject({
      kind: "failure",
      status: 200,
      verdict: { kind: "concurrency", code: "1302" },
      release: { limitLowered: true },
    });
    expect(ends).toEqual([["refused", true]]);
  });

  it("an error event in CR-only framing goes through the parser and is still found", async () => {
    const { lease, ends } = recordingLease();
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      sse('event: error\rdata: {"error":{"code":"1305","message":"busy"}}\r\r'),
    );
    expect(examined).toMatchObject({ kind: "failure", verdict: { kind: "transient", code: "1305" } });
    expect(ends).toEqual([["failed", true]]);
  });

  it("a 1302 as an HTTP status: refused, handed on at once (the body was read to its end)", async () => {
    const { lease, ends } = recordingLease();
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      json(429, '{"error":{"code":"1302","message":"High concurrency"}}'),
    );
    expect(examined).toMatchObject({ kind: "failure", status: 429, verdict: { kind: "concurrency" } });
    expect(ends).toEqual([["refused", false]]);
  });

  it("an HTML page with a 200: a transient failure, kept for the grace (its body cancelled unread)", async () => {
    const { lease, ends } = recordingLease();
    const examined = await inspect(deps(), lease, URL, undefined, json(200, "<html>gateway</html>", "text/html"));
    expect(examined).toMatchObject({ kind: "failure", verdict: { kind: "transient", code: "upstream_unusable" } });
    expect(ends).toEqual([["failed", true]]);
  });

  it("a JSON body cut short is retried; a 1302 inside a 200 JSON body is a refusal", async () => {
    const cut = recordingLease();
    expect(await inspect(deps(), cut.lease, URL, undefined, json(200, '{"choices":[{"mess'))).toMatchObject({
      kind: "failure",
      verdict: { kind: "transient" },
    });
    expect(cut.ends).toEqual([["failed", false]]);
    const inBody = recordingLease();
    const examined = await inspect(
      deps(),
      inBody.lease,
      URL,
      undefined,
      json(200, '{"error":{"code":1302,"message":"busy"}}'),
    );
    expect(examined).toMatchObject({ kind: "failure", verdict: { kind: "concurrency" } });
    expect(inBody.ends).toEqual([["refused", false]]);
  });

  it("a 4xx it has no rule for is delivered as Z.AI gave it, redacted", async () => {
    const { lease, ends } = recordingLease();
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      json(400, `{"error":{"code":"1214","message":"bad field; key ${SECRET}"}}`),
    );
    expect(examined.kind).toBe("deliver");
    if (examined.kind === "deliver") expect(await examined.response.text()).not.toContain(SECRET);
    expect(ends).toEqual([["failed", false]]);
  });

  it("no answer: a network error is transient; with the caller gone, the lease is cancelled and the abort thrown", async () => {
    const { lease, ends } = recordingLease();
    const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    expect(await inspect(deps(), lease, URL, undefined, { error: refused })).toMatchObject({
      kind: "failure",
      status: 0,
      verdict: { kind: "transient" },
    });
    expect(ends).toEqual([["failed", false]]);
    const gone = recordingLease();
    const controller = new AbortController();
    controller.abort(new Error("caller left"));
    await expect(inspect(deps(), gone.lease, URL, controller.signal, { error: refused })).rejects.toThrow(
      "caller left",
    );
    expect(gone.ends).toEqual([["cancelled", false]]);
  });

  it("messages that echo a key are redacted before anyone sees them", async () => {
    const { lease } = recordingLease();
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      json(500, `{"error":{"code":"1234","message":"upstream saw ${SECRET}"}}`),
    );
    expect(examined.kind === "failure" && "message" in examined.verdict ? examined.verdict.message : "").not.toContain(
      SECRET,
    );
  });
});

describe("inspect(): error bodies cut short", () => {
  it("an error status whose body breaks off is classified by its status, its slot kept for the grace", async () => {
    const { lease, ends } = recordingLease();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"error":{"code":"1305","mess'));
        controller.error(new TypeError("terminated"));
      },
    });
    const examined = await inspect(
      deps(),
      lease,
      URL,
      undefined,
      new Response(body, { status: 500, headers: { "content-type": "application/json" } }),
    );
    expect(examined).toMatchObject({ kind: "failure", status: 500, verdict: { kind: "transient" } });
    expect(ends).toEqual([["failed", true]]);
  });
});
