import { afterEach, describe, expect, it } from "vitest";
import { keysFileSchema } from "../../src/lib.js";
import type { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { Limits } from "../../src/limits/limits.js";
import { Leases } from "../../src/leases/leases.js";
import { systemClock } from "../../src/util/clock.js";
import { machine, testAddress, until } from "./helpers.js";

const open: SharedLedger[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

/** Two "processes" (a Leases and Limits each) on one machine ledger, adaptive limits from a configured 4. */
async function pair() {
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse({ models: { m: { maxConcurrency: 4 } } });
  const address = testAddress();
  const make = async () => {
    const ledger = await machine(address);
    open.push(ledger);
    const limits = new Limits(settings, () => {}, systemClock);
    return { limits, leases: new Leases(systemClock, limits, { ledger }) };
  };
  return [await make(), await make()] as const;
}
const req = (seq: number) => ({ model: "m", seq, candidates: () => ["A"], timeoutMs: 5_000 });

describe("Leases on the machine ledger", () => {
  it("counts the other process's requests in othersInFlight and shares what a 1302 taught", async () => {
    const [one, two] = await pair();
    const first = await one.leases.acquire(req(0));
    first.admitted();
    await until(() => two.limits.get("A", "m").confirmed === 1);
    const second = await two.leases.acquire(req(0));
    expect(second.othersInFlight).toBe(1);
    second.admitted();
    await until(() => one.limits.get("A", "m").confirmed === 2);
    const third = await one.leases.acquire(req(1));
    expect(third.othersInFlight).toBe(2);
    // Z.AI refuses the third: the account's limit is what the two processes had in flight together.
    third.release("refused");
    expect(one.limits.limit("A", "m")).toBe(2);
    await until(() => two.limits.limit("A", "m") === 2);
    first.release("completed");
    second.release("completed");
  });
});
