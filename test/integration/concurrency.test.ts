import { afterEach, describe, expect, it, vi } from "vitest";
import type { ZaiFetch } from "../../src/lib.js";
import { keyEntries, setup } from "./setup.js";

describe("account-wide slots against the simulator", () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });
  const leases = () => (env!.loaded.fetch as ZaiFetch).leases;

  it("20 parallel streams on 2 accounts × limit 3: never above the limit, no 1302, all answered", async () => {
    env = await setup({
      sim: {
        accounts: [
          { id: "A", keys: ["sk-a1", "sk-a2"], limits: { "glm-4.7": 3 } },
          { id: "B", keys: ["sk-b1", "sk-b2"], limits: { "glm-4.7": 3 } },
        ],
        latencyMs: 20,
        chunks: 4,
        chunkDelayMs: 5,
      },
      keysFile: {
        keys: keyEntries("A/a1:sk-a1", "A/a2:sk-a2", "B/b1:sk-b1", "B/b2:sk-b2"),
        models: { "glm-4.7": { maxConcurrency: 3 } },
      },
    });
    const bodies = await Promise.all(Array.from({ length: 20 }, () => env!.chat().then((r) => r.text())));
    expect(bodies.every((b) => b.includes("[DONE]"))).toBe(true);
    const stats = env.sim.stats();
    expect(stats.maxInFlight.A?.["glm-4.7"]).toBe(3);
    expect(stats.maxInFlight.B?.["glm-4.7"]).toBe(3);
    expect(stats.byCode["1302"] ?? 0).toBe(0);
    expect(stats.completed).toBe(20);
    expect(Object.keys(stats.byKey).sort()).toEqual(["sk-a1", "sk-a2", "sk-b1", "sk-b2"]);
  });

  it("holds the slot until the stream has been read to the end", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"], limits: { "glm-4.7": 1 } }] },
      keysFile: { keys: keyEntries("A:sk-a"), models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    const first = await env.chat();
    expect(leases().inFlight("A", "glm-4.7")).toBe(1);
    let secondDone = false;
    const second = env.chat().then((r) => ((secondDone = true), r));
    await vi.waitFor(() => expect(leases().waiting()).toBe(1));
    expect(secondDone).toBe(false);
    await first.text();
    const res = await second;
    expect(res.status).toBe(200);
    await res.text();
    expect(leases().inFlight("A", "glm-4.7")).toBe(0);
  });

  it("an aborted waiter leaves the queue at once and the fetch rejects with AbortError", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }] },
      keysFile: { keys: keyEntries("A:sk-a"), models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    const first = await env.chat();
    const controller = new AbortController();
    const queued = env.chat("glm-4.7", { signal: controller.signal });
    await vi.waitFor(() => expect(leases().waiting()).toBe(1));
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: "AbortError" });
    expect(leases().waiting()).toBe(0);
    await first.text();
    expect(env.sim.stats().requests).toBe(1);
  });

  it("aborting mid-stream releases the slot after the cancel grace", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }], chunks: 50, chunkDelayMs: 20 },
      keysFile: { keys: keyEntries("A:sk-a"), models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    const controller = new AbortController();
    const res = await env.chat("glm-4.7", { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(leases().inFlight("A", "glm-4.7")).toBe(1);
    controller.abort();
    await reader.read().catch(() => undefined);
    // Z.AI notices the closed connection a moment later: the slot is handed on after the grace, not at once.
    expect(leases().inFlight("A", "glm-4.7")).toBe(1);
    env.clock.advance(250);
    expect(leases().inFlight("A", "glm-4.7")).toBe(0);
    const next = await env.chat();
    expect(next.status).toBe(200);
    await next.text();
  });

  it("cancelling the body releases the slot after the cancel grace", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }], chunks: 50, chunkDelayMs: 20 },
      keysFile: { keys: keyEntries("A:sk-a"), models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    const res = await env.chat();
    await res.body!.cancel();
    expect(leases().inFlight("A", "glm-4.7")).toBe(1);
    env.clock.advance(249);
    expect(leases().inFlight("A", "glm-4.7")).toBe(1);
    env.clock.advance(1);
    expect(leases().inFlight("A", "glm-4.7")).toBe(0);
  });

  it("streams without buffering: the first chunk arrives while the upstream is still sending", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }], chunks: 5, chunkDelayMs: 100 },
      keysFile: { keys: keyEntries("A:sk-a") },
    });
    const res = await env.chat();
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("data:");
    expect(env.sim.stats().completed).toBe(0);
    await reader.cancel();
  });
});
