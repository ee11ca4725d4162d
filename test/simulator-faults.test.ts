/** The simulator's hardening faults (issue 9): echoed keys, HTML 200, cut bodies, in-stream codes, CR lines, late close notice. */
import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../simulator/close-notice.js";
import { ECHO_KEY_MESSAGE, expandMessage, parseFault } from "../simulator/faults.js";
import { startSimulator } from "../simulator/server.js";
import type { Simulator, SimulatorConfig } from "../simulator/types.js";

/** Long, obviously fake keys, so 16-character fragments are meaningful. */
const KEY = "sk-test-fault-echo-aaaaaaaa-0001";
const KEY_B = "sk-test-fault-echo-bbbbbbbb-0002";

const open: Simulator[] = [];
const controllers: AbortController[] = [];

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await Promise.all(open.splice(0).map((sim) => sim.close()));
});

async function simulator(overrides: Partial<SimulatorConfig> = {}): Promise<Simulator> {
  const sim = await startSimulator({
    accounts: [
      { id: "a", keys: [KEY], limits: { "glm-4.7": 1 } },
      { id: "b", keys: [KEY_B] },
    ],
    ...overrides,
  });
  open.push(sim);
  return sim;
}

function chat(sim: Simulator, options: { stream?: boolean; key?: string } = {}): Promise<Response> {
  const controller = new AbortController();
  controllers.push(controller);
  return fetch(`${sim.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${options.key ?? KEY}` },
    body: JSON.stringify({
      model: "glm-4.7",
      stream: options.stream ?? true,
      messages: [{ role: "user", content: "hi" }],
    }),
    signal: controller.signal,
  });
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const idle = (sim: Simulator) => () => Object.keys(sim.stats().inFlight).length === 0;

describe("echoed keys", () => {
  it("quotes the key and the Authorization header, whole and as 16-character fragments", async () => {
    const sim = await simulator();
    sim.inject({ kind: "echo-key", code: "1112" }, { kind: "echo-key", status: 502 });
    const json = await chat(sim);
    expect(json.status).toBe(500);
    const { error } = (await json.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("1112");
    expect(error.message).toContain(`Authorization: Bearer ${KEY};`);
    expect(error.message).toContain(`key ${KEY} `);
    expect(error.message).toContain(`starts ${KEY.slice(0, 16)}`);
    expect(error.message).toContain(`ends ${KEY.slice(-16)}`);
    const text = await chat(sim);
    expect(text.status).toBe(502);
    expect(text.headers.get("content-type")).toBe("text/plain");
    expect(await text.text()).toContain(KEY);
    expect(sim.stats().hits.map((h) => h.fault)).toEqual(["echo-key", "echo-key"]);
  });

  it("fills the placeholders in any fault message, also inside a stream", async () => {
    const sim = await simulator();
    sim.inject({ kind: "sse-error", code: "1305", message: "overloaded ({keyTail})", afterChunks: 1 });
    const body = await (await chat(sim)).text();
    expect(body).toContain(`overloaded (${KEY.slice(-16)})`);
    expect(expandMessage("x {keyMiddle} y", "0123456789abcdefghijXY", undefined)).toBe("x 3456789abcdefghi y");
    expect(ECHO_KEY_MESSAGE).toContain("{authorization}");
    const now = Date.UTC(2026, 8, 8, 20, 38, 28);
    expect(expandMessage("reset at {resetIn:5}", "k", undefined, now)).toBe("reset at 2026-09-09 04:38:33");
  });
});

describe("broken 200s and cut bodies", () => {
  it("answers 200 with an HTML gateway page", async () => {
    const sim = await simulator();
    sim.inject({ kind: "html" });
    const response = await chat(sim);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toMatch(/^<!DOCTYPE html>.*502 Bad Gateway/s);
  });

  it("cuts a non-streaming JSON body mid-body after announcing its full length", async () => {
    const sim = await simulator();
    sim.inject({ kind: "cut-body" });
    const response = await chat(sim, { stream: false });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(100);
    await expect(response.text()).rejects.toThrow();
    await until(idle(sim));
    expect(sim.stats()).toMatchObject({ completed: 0, clientClosed: 0, byCode: { "cut-body": 1 } });
  });

  it("cuts a stream inside a frame", async () => {
    const sim = await simulator();
    sim.inject({ kind: "cut-body", fraction: 0.3 });
    const response = await chat(sim);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.startsWith("data: ")).toBe(true);
    expect(first.endsWith("\n\n")).toBe(false);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
  });

  it("truncates error bodies: ended early, or announced whole and reset", async () => {
    const sim = await simulator();
    sim.inject(
      { kind: "truncated-error", code: "1302", bytes: 30 },
      { kind: "truncated-error", code: "1305", status: 500, reset: true },
    );
    const short = await chat(sim);
    expect(short.status).toBe(429);
    expect(await short.text()).toBe('{"error":{"code":"1302","messa');
    const reset = await chat(sim);
    expect(reset.status).toBe(500);
    await expect(reset.text()).rejects.toThrow();
    expect(sim.stats().byCode).toEqual({ "truncated-1302": 1, "truncated-1305": 1 });
  });
});

describe("in-stream codes and line endings", () => {
  it.each(["1302", "1308", "1305"])("sends %s inside a 200 stream after a content chunk", async (code) => {
    const sim = await simulator();
    sim.inject({ kind: "sse-error", code, afterChunks: 1 });
    const response = await chat(sim);
    expect(response.status).toBe(200);
    const frames = (await response.text()).split("\n\n").filter(Boolean);
    expect(frames[0]).toContain('"content":"Hello"');
    expect(frames[1]).toMatch(new RegExp(`^data: \\{"error":\\{"code":"${code}"`));
    expect(sim.stats().hits[0]).toMatchObject({ status: 200, code, fault: "sse-error" });
  });

  it("answers a non-streaming request's in-stream fault with a 200 JSON error body", async () => {
    const sim = await simulator();
    sim.inject({ kind: "sse-error", code: "1302", afterChunks: 1 });
    const response = await chat(sim, { stream: false });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("1302");
  });

  it("ends SSE lines with CR only (a whole stream, or an error stream)", async () => {
    const sim = await simulator();
    sim.inject({ kind: "line-endings", ending: "cr" }, { kind: "sse-error", code: "1302", lineEnding: "cr" });
    const body = await (await chat(sim)).text();
    expect(body).not.toContain("\n");
    expect(body.split("\r\r").filter(Boolean)).toHaveLength(5); // 3 content, finish, [DONE]
    expect(body.endsWith("data: [DONE]\r\r")).toBe(true);
    const error = await (await chat(sim)).text();
    expect(error).toMatch(/^data: \{"error":\{"code":"1302".*\}\}\r\r$/);
    expect(sim.stats().completed).toBe(1); // an error stream is not a completion
  });

  it("rejects bad values of the new fault fields, naming them", () => {
    expect(() => parseFault({ kind: "line-endings", ending: "lf" })).toThrow(/ending must be cr or crlf/);
    expect(() => parseFault({ kind: "cut-body", fraction: 1 })).toThrow(/fraction must be in \[0, 1\)/);
    expect(() => parseFault({ kind: "truncated-error" })).toThrow(/code is required/);
    expect(() => parseFault({ kind: "sse-error", code: "1302", lineEnding: "x" })).toThrow(/lineEnding/);
    expect(parseFault({ kind: "echo-key", status: 403, code: 1313 })).toEqual({
      kind: "echo-key",
      status: 403,
      code: "1313",
    });
  });
});

describe("late notice of client closes", () => {
  it("keeps a cancelled request counted for the notice delay: an immediate hand-off draws a 1302", async () => {
    const sim = await simulator({ latencyMs: 60_000, closeNotice: { minMs: 150, maxMs: 150 } });
    await chat(sim);
    controllers.at(-1)!.abort();
    await until(() => sim.stats().clientClosed === 1);
    const early = await chat(sim);
    expect(early.status).toBe(429);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe("1302");
    await until(idle(sim));
    expect((await chat(sim)).status).toBe(200);
  });

  it("frees completed answers at once, and at once again after setCloseNotice(null)", async () => {
    const sim = await simulator({ closeNotice: { minMs: 60_000, maxMs: 60_000 } });
    await (await chat(sim)).text();
    await until(idle(sim));
    expect((await chat(sim)).status).toBe(200);
    expect(() => sim.setCloseNotice({ minMs: 80, maxMs: 20 })).toThrow(/closeNotice must be/);
    sim.setCloseNotice(null);
    sim.setLimit("a", "glm-4.7", 1);
    const slow = await simulator({ latencyMs: 60_000, closeNotice: { minMs: 60_000, maxMs: 60_000 } });
    slow.setCloseNotice(null);
    await chat(slow);
    controllers.at(-1)!.abort();
    await until(idle(slow));
    expect(slow.stats().clientClosed).toBe(1);
  });

  it("draws its delays from a seeded generator: the same seed, the same delays", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const draws = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(43)()).not.toBe(draws[0]);
  });
});
