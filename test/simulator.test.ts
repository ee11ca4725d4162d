import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../simulator/config.js";
import { demoPreset } from "../simulator/presets.js";
import { startSimulator } from "../simulator/server.js";
import { formatBeijingStamp } from "../simulator/stamp.js";
import type { Simulator, SimulatorConfig } from "../simulator/types.js";

const KEY = "sk-test-a-1";
const KEY_2 = "sk-test-a-2";
const KEY_B = "sk-test-b-1";
const NOW = Date.UTC(2026, 8, 8, 20, 38, 28); // 2026-09-09 04:38:28 in Beijing

const open: Simulator[] = [];
const controllers: AbortController[] = [];

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await Promise.all(open.splice(0).map((sim) => sim.close()));
});

/** Two accounts: "a" (two keys, glm-4.7 cap 2) and "b" (one key); fixed clock. */
async function simulator(overrides: Partial<SimulatorConfig> = {}): Promise<Simulator> {
  const sim = await startSimulator({
    accounts: [
      { id: "a", keys: [KEY, KEY_2], limits: { "glm-4.7": 2 } },
      { id: "b", keys: [KEY_B] },
    ],
    now: () => NOW,
    ...overrides,
  });
  open.push(sim);
  return sim;
}

interface ChatOptions {
  key?: string | null;
  model?: string;
  stream?: boolean;
  url?: string;
  headers?: Record<string, string>;
}

function chat(sim: Simulator, options: ChatOptions = {}): Promise<Response> {
  const controller = new AbortController();
  controllers.push(controller);
  const key = options.key === undefined ? KEY : options.key;
  return fetch(`${options.url ?? sim.url}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...options.headers,
    },
    body: JSON.stringify({
      model: options.model ?? "glm-4.7",
      stream: options.stream ?? true,
      messages: [{ role: "user", content: "hi" }],
    }),
    signal: controller.signal,
  });
}

/** Holds a streaming request open (the simulator's latency is long); returns its abort. */
async function holdOpen(sim: Simulator, options: ChatOptions = {}): Promise<() => void> {
  const response = await chat(sim, options);
  expect(response.status).toBe(200);
  const controller = controllers.at(-1)!;
  return () => controller.abort();
}

async function errorOf(response: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, code: body.error.code, message: body.error.message };
}

function events(text: string): string[] {
  return text.split("\n\n").filter((frame) => frame !== "");
}

/** Polls (1 ms apart) until the server has seen what the client did. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}

async function control(sim: Simulator, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${sim.origin}/_sim${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
}

describe("formatBeijingStamp", () => {
  it("writes epoch ms as UTC+8 without a zone", () => {
    expect(formatBeijingStamp(Date.UTC(2026, 8, 8, 21, 38, 28))).toBe("2026-09-09 05:38:28");
    expect(formatBeijingStamp(Date.UTC(2025, 11, 31, 16, 0, 0, 999))).toBe("2026-01-01 00:00:00");
  });
});

describe("config", () => {
  it("names the option and echoes the bad value", () => {
    expect(() => resolveConfig({ accounts: [{ id: "a", keys: [] }] })).toThrow(
      "accounts[0].keys must be a non-empty array of strings, got []",
    );
    expect(() =>
      resolveConfig({
        accounts: [
          { id: "a", keys: ["k"] },
          { id: "b", keys: ["k"] },
        ],
      }),
    ).toThrow('accounts[].keys must be unique across accounts, got "k"');
    expect(() => resolveConfig({ accounts: [], latencyMs: -1 })).toThrow(
      "latencyMs must be a finite number >= 0, got -1",
    );
  });

  it("spreads durationMs over the chunks", () => {
    expect(resolveConfig({ accounts: [], chunks: 4, durationMs: 100 }).timing).toEqual({
      latencyMs: 0,
      chunks: 4,
      gapMs: 25,
      prefillMsPer1kTokens: 0,
    });
  });
});

describe("serving", () => {
  it("streams OpenAI chunks, a finish chunk with usage, then [DONE]", async () => {
    const sim = await simulator();
    const response = await chat(sim);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("x-sim-account")).toBe("a");
    const frames = events(await response.text());
    expect(frames.at(-1)).toBe("data: [DONE]");
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice("data: ".length)));
    expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe("Hello from sim");
    expect(chunks[0]).toMatchObject({ object: "chat.completion.chunk", model: "glm-4.7" });
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: "stop" }], usage: { completion_tokens: 3 } });
  });

  it("answers a chat.completion JSON without stream", async () => {
    const sim = await simulator({ chunks: 2 });
    const body = await (await chat(sim, { stream: false })).json();
    expect(body).toMatchObject({
      object: "chat.completion",
      choices: [{ message: { role: "assistant", content: "Hello from" }, finish_reason: "stop" }],
    });
  });

  it("lists the known models", async () => {
    const sim = await simulator({ models: ["glm-4.7", "glm-4.5-air"] });
    const response = await fetch(`${sim.url}/models`, { headers: { "x-api-key": KEY } });
    expect(await response.json()).toMatchObject({ object: "list", data: [{ id: "glm-4.7" }, { id: "glm-4.5-air" }] });
  });

  it("keeps up with a burst of 500 requests", async () => {
    const sim = await simulator({ accounts: [{ id: "a", keys: [KEY], defaultLimit: 1000 }] });
    const statuses = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const response = await chat(sim);
        await response.text();
        return response.status;
      }),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(sim.stats().completed).toBe(500);
  });
});

describe("errors, in Z.AI's order", () => {
  it("401 1000 for an unknown or missing key, 1001 for a revoked one", async () => {
    const sim = await simulator({ revokedKeys: [KEY_2] });
    expect(await errorOf(await chat(sim, { key: "sk-nope" }))).toMatchObject({ status: 401, code: "1000" });
    expect(await errorOf(await chat(sim, { key: null }))).toMatchObject({ status: 401, code: "1000" });
    expect(await errorOf(await chat(sim, { key: KEY_2 }))).toEqual({
      status: 401,
      code: "1001",
      message: "Token expired or incorrect",
    });
  });

  it("accepts x-api-key", async () => {
    const sim = await simulator();
    const response = await chat(sim, { key: null, headers: { "x-api-key": KEY_B } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sim-account")).toBe("b");
  });

  it("1309 for an expired account before looking at the model", async () => {
    const sim = await simulator({ accounts: [{ id: "a", keys: [KEY], expired: true }] });
    expect(await errorOf(await chat(sim, { model: "nope" }))).toMatchObject({ status: 429, code: "1309" });
  });

  it("400 1211 for an unknown model", async () => {
    const sim = await simulator();
    expect(await errorOf(await chat(sim, { model: "gpt-4o" }))).toEqual({
      status: 400,
      code: "1211",
      message: "Unknown Model, please check the model code",
    });
  });

  it("429 1113 for a model outside the account's plan or everywhere unavailable", async () => {
    const sim = await simulator({
      accounts: [
        { id: "a", keys: [KEY], unavailableModels: ["glm-5"] },
        { id: "b", keys: [KEY_B] },
      ],
      unavailableModels: ["glm-4.6"],
    });
    expect(await errorOf(await chat(sim, { model: "glm-5" }))).toMatchObject({ status: 429, code: "1113" });
    expect((await chat(sim, { key: KEY_B, model: "glm-5" })).status).toBe(200);
    expect(await errorOf(await chat(sim, { key: KEY_B, model: "glm-4.6" }))).toMatchObject({ code: "1113" });
  });

  it("429 1113 'Insufficient balance' for coding keys on the general endpoint", async () => {
    const sim = await simulator();
    expect(await errorOf(await chat(sim, { url: sim.generalUrl }))).toEqual({
      status: 429,
      code: "1113",
      message: "Insufficient balance or no resource package. Please recharge.",
    });
  });

  it("429 1308 with a Beijing reset stamp once the usage window is spent", async () => {
    const sim = await simulator({
      accounts: [
        { id: "a", keys: [KEY, KEY_2], usageWindow: { requests: 2 } },
        { id: "b", keys: [KEY_B], usageWindow: { requests: 0, resetAt: Date.UTC(2026, 8, 8, 21, 0, 0) } },
      ],
    });
    expect((await chat(sim)).status).toBe(200);
    expect((await chat(sim, { key: KEY_2 })).status).toBe(200);
    expect(await errorOf(await chat(sim))).toEqual({
      status: 429,
      code: "1308",
      message: "Usage limit reached for 5 hour. Your limit will reset at 2026-09-09 05:38:28",
    });
    expect((await errorOf(await chat(sim, { key: KEY_B }))).message).toMatch(/reset at 2026-09-09 05:00:00$/);
  });
});

describe("concurrency per (account, model)", () => {
  it("answers 1302 over the cap, whichever key of the account is used", async () => {
    const sim = await simulator({ latencyMs: 60_000 });
    await holdOpen(sim, { key: KEY });
    await holdOpen(sim, { key: KEY_2 });
    expect(await errorOf(await chat(sim, { key: KEY }))).toEqual({
      status: 429,
      code: "1302",
      message:
        "High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits",
    });
    expect(sim.stats().inFlight).toEqual({ a: { "glm-4.7": 2 } });
    await holdOpen(sim, { key: KEY, model: "glm-4.5" }); // other model, own cap
    await holdOpen(sim, { key: KEY_B }); // other account
  });

  it("frees the slot when the client goes away, and follows setLimit", async () => {
    const sim = await simulator({ latencyMs: 60_000 });
    const abort = await holdOpen(sim);
    await holdOpen(sim);
    abort();
    await until(() => sim.stats().inFlight["a"]?.["glm-4.7"] === 1);
    await holdOpen(sim);
    sim.setLimit("a", "glm-4.7", 3);
    await holdOpen(sim);
    expect((await chat(sim)).status).toBe(429);
    expect(sim.stats().maxInFlight).toEqual({ a: { "glm-4.7": 3 } });
  });

  it("counts a request in flight while it streams and frees it at the end", async () => {
    const sim = await simulator({ chunks: 2, durationMs: 120_000 }); // first chunk at once, the rest a minute apart
    const streaming = await chat(sim);
    const reader = streaming.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"content":"Hello"');
    expect(sim.stats().inFlight).toEqual({ a: { "glm-4.7": 1 } });
    await reader.cancel();
    await until(() => Object.keys(sim.stats().inFlight).length === 0);
    expect(sim.stats().completed).toBe(0);
  });

  it("frees the slot after a complete answer", async () => {
    const sim = await simulator();
    await (await chat(sim)).text();
    await until(() => Object.keys(sim.stats().inFlight).length === 0);
    expect(sim.stats()).toMatchObject({ completed: 1, maxInFlight: { a: { "glm-4.7": 1 } } });
  });
});

describe("faults", () => {
  it("sends an error event inside a 200 stream", async () => {
    const sim = await simulator();
    sim.inject({ kind: "sse-error", code: "1305" }, { kind: "sse-error", code: "1313", event: true });
    const plain = await chat(sim);
    expect(plain.status).toBe(200);
    expect(events(await plain.text())).toEqual([
      'data: {"error":{"code":"1305","message":"The service may be temporarily overloaded, please try again later"}}',
    ]);
    const withEvent = events(await (await chat(sim)).text());
    expect(withEvent[0]).toMatch(/^event: error\ndata: \{"error":\{"code":"1313"/);
    expect((await chat(sim)).status).toBe(200);
    expect(sim.stats().byCode).toEqual({ "200": 1, "1305": 1, "1313": 1 });
  });

  it("drops the socket before any response", async () => {
    const sim = await simulator();
    sim.inject({ kind: "drop" });
    await expect(chat(sim)).rejects.toThrow();
    await until(() => Object.keys(sim.stats().inFlight).length === 0);
    expect(sim.stats().hits.at(-1)).toMatchObject({ status: 0, fault: "drop" });
    expect(sim.stats().byCode).toEqual({ drop: 1 });
  });

  it("drops the socket after one content chunk", async () => {
    const sim = await simulator();
    sim.inject({ kind: "drop-mid-stream" });
    const response = await chat(sim);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"content":"Hello"');
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow();
    await until(() => Object.keys(sim.stats().inFlight).length === 0);
    expect(sim.stats().completed).toBe(0);
  });

  it("answers scripted statuses to matching requests only, `times` times", async () => {
    const sim = await simulator();
    sim.inject(
      { kind: "status", status: 500, code: "500", times: 2, match: { account: "b" } },
      { kind: "status", status: 429, headers: { "retry-after": "3" } },
      { kind: "http-error", code: "1303" },
    );
    const plain = await chat(sim);
    expect(plain.status).toBe(429);
    expect(plain.headers.get("retry-after")).toBe("3");
    expect(await plain.text()).toBe("Too Many Requests");
    expect(await errorOf(await chat(sim, { key: KEY_B }))).toMatchObject({ status: 500, code: "500" });
    expect(await errorOf(await chat(sim))).toMatchObject({ status: 429, code: "1303" });
    expect(await errorOf(await chat(sim, { key: KEY_B }))).toMatchObject({ status: 500 });
    expect((await chat(sim, { key: KEY_B })).status).toBe(200);
    expect(sim.pendingFaults()).toEqual([]);
  });

  it("writes a reset stamp into scripted 1308s and can end streams with another finish_reason", async () => {
    const sim = await simulator();
    sim.inject({ kind: "http-error", code: "1308" }, { kind: "finish-reason", reason: "network_error" });
    expect((await errorOf(await chat(sim))).message).toMatch(/reset at 2026-09-09 05:38:28$/);
    expect(await (await chat(sim)).text()).toContain('"finish_reason":"network_error"');
  });

  it("comes after admission: a rejected request does not consume a fault", async () => {
    const sim = await simulator();
    sim.inject({ kind: "status", status: 503 });
    expect((await chat(sim, { model: "nope" })).status).toBe(400);
    expect((await chat(sim)).status).toBe(503);
  });
});

describe("stats", () => {
  it("counts requests by key, account and code, and logs every hit", async () => {
    const sim = await simulator({ revokedKeys: [KEY_2] });
    await (await chat(sim)).text();
    await (await chat(sim, { key: KEY_2 })).text();
    await (await chat(sim, { key: "sk-unknown", model: "x" })).text();
    await (await chat(sim, { key: KEY_B, model: "x" })).text();
    const stats = sim.stats();
    expect(stats).toMatchObject({
      requests: 4,
      byKey: { [KEY]: 1, [KEY_2]: 1, "sk-unknown": 1, [KEY_B]: 1 },
      byAccount: { a: 2, b: 1 },
      byCode: { "200": 1, "1001": 1, "1000": 1, "1211": 1 },
      completed: 1,
      authorizations: [`Bearer ${KEY}`, `Bearer ${KEY_2}`, "Bearer sk-unknown", `Bearer ${KEY_B}`],
    });
    expect(stats.hits).toEqual([
      { at: NOW, key: KEY, account: "a", model: "glm-4.7", status: 200, code: null, fault: null },
      { at: NOW, key: KEY_2, account: "a", model: "glm-4.7", status: 401, code: "1001", fault: null },
      { at: NOW, key: "sk-unknown", account: null, model: "x", status: 401, code: "1000", fault: null },
      { at: NOW, key: KEY_B, account: "b", model: "x", status: 400, code: "1211", fault: null },
    ]);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  it("resets counters but keeps live in-flight counts as the new high-water marks", async () => {
    const sim = await simulator({ latencyMs: 60_000 });
    await holdOpen(sim);
    const abort = await holdOpen(sim);
    abort();
    await until(() => sim.stats().inFlight["a"]?.["glm-4.7"] === 1);
    sim.resetStats();
    expect(sim.stats()).toMatchObject({ requests: 0, byCode: {}, hits: [], maxInFlight: { a: { "glm-4.7": 1 } } });
  });
});

describe("control endpoints", () => {
  it("sets limits, injects faults, reports and resets stats over HTTP", async () => {
    const sim = await simulator({ latencyMs: 60_000 });
    expect(await (await control(sim, "POST", "/limit", { account: "a", model: "glm-4.7", limit: 1 })).json()).toEqual({
      ok: true,
    });
    await holdOpen(sim);
    expect((await errorOf(await chat(sim))).code).toBe("1302");

    const injected = await control(sim, "POST", "/faults", [{ kind: "http-error", status: 429, code: 1305, times: 2 }]);
    expect(await injected.json()).toEqual({ ok: true, pending: 1 });
    expect(await (await control(sim, "GET", "/faults")).json()).toEqual([
      { kind: "http-error", status: 429, code: "1305", times: 2 },
    ]);
    expect((await errorOf(await chat(sim, { key: KEY_B }))).code).toBe("1305");
    await control(sim, "DELETE", "/faults");
    expect(sim.pendingFaults()).toEqual([]);

    const stats = await (await control(sim, "GET", "/stats")).json();
    expect(stats).toMatchObject({ requests: 3, byCode: { "200": 1, "1302": 1, "1305": 1 } });
    await control(sim, "POST", "/reset");
    expect(sim.stats().requests).toBe(0);
  });

  it("replaces a usage window over HTTP", async () => {
    const sim = await simulator();
    await control(sim, "POST", "/usage", { account: "b", requests: 0, resetAt: "2026-09-09 06:00:00" });
    expect((await errorOf(await chat(sim, { key: KEY_B }))).message).toMatch(/reset at 2026-09-09 06:00:00$/);
    await control(sim, "POST", "/usage", { account: "b" });
    expect((await chat(sim, { key: KEY_B })).status).toBe(200);
  });

  it("rejects bad input with 400 and unknown accounts with 404", async () => {
    const sim = await simulator();
    const bad = await control(sim, "POST", "/faults", { kind: "explode" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^fault kind must be one of/);
    expect((await control(sim, "POST", "/limit", { account: "zz", model: "glm-4.7", limit: 1 })).status).toBe(404);
    expect((await control(sim, "POST", "/limit", "{")).status).toBe(400);
    expect((await control(sim, "GET", "/nope")).status).toBe(404);
  });
});

describe("lifecycle", () => {
  it("closes promptly with open streams and idle keep-alive sockets", async () => {
    const sim = await startSimulator({ accounts: [{ id: "a", keys: [KEY] }], latencyMs: 60_000 });
    await (await chat(sim, { stream: false, model: "nope" })).text(); // leaves an idle keep-alive socket
    const open = await chat(sim);
    const reading = open.text().then(
      () => "ended",
      () => "broken",
    );
    // A stream with a minute of latency left, and an idle socket: close() waits for neither (else the test times out).
    await sim.close();
    expect(await reading).toBe("broken");
    await expect(fetch(`${sim.url}/models`)).rejects.toThrow();
    await sim.close(); // a second close is harmless
  });

  it("exports the demo preset as a fresh, valid config", () => {
    const preset = demoPreset();
    expect(preset.accounts.map((a) => a.id)).toEqual(["alpha", "beta", "gamma"]);
    expect(demoPreset()).not.toBe(preset);
    expect(() => resolveConfig(preset)).not.toThrow();
  });

  it("runs from the CLI, prints its URL, stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "simulator/cli.ts", "--preset", "demo"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const { url, port } = JSON.parse(line) as { url: string; port: number };
    expect(url).toBe(`http://127.0.0.1:${port}/api/coding/paas/v4`);
    const health = await fetch(`http://127.0.0.1:${port}/_sim/health`);
    expect(await health.json()).toEqual({ ok: true });
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
