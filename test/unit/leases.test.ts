import { describe, expect, it } from "vitest";
import { keysFileSchema } from "../../src/lib.js";
import { NoCandidatesError, QueueTimeoutError } from "../../src/ledger/errors.js";
import { Limits } from "../../src/limits/limits.js";
import { Leases, type Lease } from "../../src/leases/leases.js";
import { FakeClock } from "../helpers/fake-clock.js";

function setup(
  models: Record<string, { maxConcurrency: number; ceiling?: number }> = { m: { maxConcurrency: 2 } },
  adaptive = false,
) {
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse({ models, adaptive: { enabled: adaptive } });
  const clock = new FakeClock(0, { autoAdvance: false });
  const limits = new Limits(settings);
  return { clock, limits, leases: new Leases(clock, limits) };
}
const req = (
  seq: number,
  candidates: string[] | (() => string[]),
  extra: Partial<{ signal: AbortSignal; timeoutMs: number }> = {},
) => ({
  model: "m",
  seq,
  candidates: typeof candidates === "function" ? candidates : () => candidates,
  timeoutMs: extra.timeoutMs ?? 60_000,
  ...(extra.signal ? { signal: extra.signal } : {}),
});

describe("Leases", () => {
  it("never grants more than the limit per (account, model)", async () => {
    const { leases } = setup();
    const a = await leases.acquire(req(0, ["A"]));
    const b = await leases.acquire(req(1, ["A"]));
    let third: Lease | undefined;
    void leases.acquire(req(2, ["A"])).then((l) => (third = l));
    await Promise.resolve();
    expect(leases.inFlight("A", "m")).toBe(2);
    expect(third).toBeUndefined();
    a.release("completed");
    await Promise.resolve();
    expect(third?.account).toBe("A");
    b.release("completed");
  });

  it("serves waiters first come, first served, on whichever account frees first", async () => {
    const { leases } = setup({ m: { maxConcurrency: 1 } });
    const a = await leases.acquire(req(0, ["A", "B"]));
    const b = await leases.acquire(req(1, ["A", "B"]));
    expect([a.account, b.account]).toEqual(["A", "B"]);
    const order: number[] = [];
    const w3 = leases.acquire(req(3, ["A", "B"])).then((l) => (order.push(3), l));
    const w2 = leases.acquire(req(2, ["A", "B"])).then((l) => (order.push(2), l));
    b.release("failed");
    const first = await Promise.race([w2, w3]);
    expect(first.account).toBe("B");
    expect(order).toEqual([2]);
    a.release("failed");
    expect((await w3).account).toBe("A");
  });

  it("lets an aborted waiter leave the queue at once", async () => {
    const { leases } = setup({ m: { maxConcurrency: 1 } });
    const held = await leases.acquire(req(0, ["A"]));
    const controller = new AbortController();
    const waiting = leases.acquire(req(1, ["A"], { signal: controller.signal }));
    expect(leases.waiting()).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    expect(leases.waiting()).toBe(0);
    held.release("failed");
    expect(leases.inFlight("A", "m")).toBe(0);
  });

  it("times a waiter out on the injected clock", async () => {
    const { leases, clock } = setup({ m: { maxConcurrency: 1 } });
    await leases.acquire(req(0, ["A"]));
    const waiting = leases.acquire(req(1, ["A"], { timeoutMs: 5000 }));
    clock.advance(5000);
    await expect(waiting).rejects.toBeInstanceOf(QueueTimeoutError);
  });

  it("rejects a waiter whose accounts all became unusable", async () => {
    const { leases } = setup({ m: { maxConcurrency: 1 } });
    let usable = ["A"];
    const held = await leases.acquire(req(0, () => usable));
    const waiting = leases.acquire(req(1, () => usable));
    usable = [];
    held.release("failed");
    await expect(waiting).rejects.toBeInstanceOf(NoCandidatesError);
  });

  it("re-reads each waiter's accounts at every dispatch", async () => {
    const { leases } = setup({ m: { maxConcurrency: 1 } });
    const blocker = await leases.acquire(req(0, ["A"]));
    let usable = ["A"];
    const waiting = leases.acquire(req(1, () => usable));
    usable = ["B"]; // A started cooling while the request waited, B came back
    leases.dispatch();
    expect((await waiting).account).toBe("B");
    blocker.release("failed");
  });

  it("dispatches again at a wake-up time (a hold or cooldown ends)", async () => {
    const { leases, clock } = setup({ m: { maxConcurrency: 1 } });
    await leases.acquire(req(0, ["A"]));
    let usable = ["A"];
    let granted: Lease | undefined;
    void leases.acquire(req(1, () => usable)).then((l) => (granted = l));
    usable = ["A", "B"]; // B's hold ends at +500 ms
    leases.wakeAt(clock.now() + 500);
    clock.advance(499);
    await Promise.resolve();
    expect(granted).toBeUndefined();
    clock.advance(1);
    await Promise.resolve();
    expect(granted?.account).toBe("B");
  });

  it("starts slowly: one above what Z.AI has admitted, opening a slot on each admission", async () => {
    const { leases } = setup({ m: { maxConcurrency: 4 } }, true);
    const first = await leases.acquire(req(0, ["A"]));
    let second: Lease | undefined;
    void leases.acquire(req(1, ["A"])).then((l) => (second = l));
    await Promise.resolve();
    expect(second).toBeUndefined();
    first.admitted();
    await Promise.resolve();
    expect(second?.account).toBe("A");
  });

  it("lowers the limit on a refused lease (to what Z.AI admitted, while learning) and ignores stale refusals", async () => {
    const { leases, limits } = setup({ m: { maxConcurrency: 4 } }, true);
    const held: Lease[] = [];
    for (let i = 0; i < 4; i++) {
      const lease = await leases.acquire(req(i, ["A"]));
      if (i < 3) lease.admitted();
      held.push(lease);
    }
    held[3]!.release("refused");
    expect(limits.limit("A", "m")).toBe(3);
    held[2]!.release("refused");
    expect(limits.limit("A", "m")).toBe(3);
  });
});
