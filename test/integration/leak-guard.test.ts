import { afterEach, describe, expect, it } from "vitest";
import type { ZaiFetch } from "../../src/lib.js";
import { leftovers } from "./leak-guard.js";
import { keyEntries, setup } from "./setup.js";

/** The guard itself must be able to fail: each kind of leftover is named, and a clean instance reports none. */
describe("integration leak guard", () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });
  const guarded = () => ({
    fetch: env!.loaded.fetch,
    clock: env!.clock,
    events: env!.events,
    allowedTimers: 0,
    responses: [],
  });

  it("names a slot held by a stream still being read, a queued request and a pending timer", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }], chunks: 2, chunkDelayMs: 60_000 },
      keysFile: { keys: keyEntries("A:sk-test-a"), models: { "glm-4.7": { maxConcurrency: 1, adaptive: false } } },
    });
    const reader = (await env.chat()).body!.getReader();
    const controller = new AbortController();
    const queued = env.chat("glm-4.7", { signal: controller.signal }).catch((error: unknown) => error);
    const leases = (env.loaded.fetch as ZaiFetch).leases;
    while (leases.waiting() === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const cancelTimer = env.clock.setTimer(() => {}, 1000);
    expect(leftovers(guarded())).toEqual([
      "1 slot(s) held on A/glm-4.7",
      "1 request(s) still queued for a slot",
      "2 timer(s) still pending on the clock", // the queued request's time-out and the test's own
    ]);
    controller.abort();
    await queued;
    await reader.cancel();
    cancelTimer();
    expect(leftovers(guarded())).toEqual([]);
  });
});
