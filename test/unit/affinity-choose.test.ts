import { describe, expect, it } from "vitest";
import {
  chooseAccounts,
  type AccountLoad,
  type ChooseInput,
  type QuotaView,
} from "../../src/routing/choose-account.js";

const ACCOUNTS = ["a", "b", "c"];

function input(
  over: Partial<ChooseInput> & { loads?: Record<string, AccountLoad>; quotas?: Record<string, QuotaView> } = {},
): ChooseInput {
  const { loads = {}, quotas, ...rest } = over;
  return {
    usable: ACCOUNTS,
    strategy: "round-robin",
    cursor: 0,
    avoid: new Set(),
    load: (a) => loads[a] ?? { inFlight: 0, cap: 4 },
    ...(quotas ? { quota: (a: string) => quotas[a] } : {}),
    ...rest,
  };
}

const past = (usedPercent: number, pastUntil = 1e15): QuotaView => ({ usedPercent, pastUntil });
const below = (usedPercent: number): QuotaView => ({ usedPercent, pastUntil: undefined });

describe("chooseAccounts", () => {
  it("rotates from the round-robin cursor, and keeps file order for fill-first", () => {
    expect(chooseAccounts(input({ cursor: 1 })).order).toEqual(["b", "c", "a"]);
    expect(chooseAccounts(input({ cursor: 1, strategy: "fill-first" })).order).toEqual(["a", "b", "c"]);
  });

  it("places a new session by sessions per slot first, then by load", () => {
    const sessions: Record<string, number> = { a: 4, b: 2, c: 3 };
    const loads = { a: { inFlight: 0, cap: 4 }, b: { inFlight: 4, cap: 4 }, c: { inFlight: 1, cap: 2 } };
    // Per slot: a 1, b 0.5, c 1.5.
    expect(chooseAccounts(input({ loads, newSession: true, sessions: (x) => sessions[x]! })).order).toEqual([
      "b",
      "a",
      "c",
    ]);
    const even = { a: 2, b: 2, c: 2 }; // per slot: a 0.5, b 0.5 (a less loaded), c 1
    expect(chooseAccounts(input({ loads, newSession: true, sessions: (x) => even[x as "a"] })).order).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("sends a new session to the least-loaded account", () => {
    const loads = { a: { inFlight: 3, cap: 4 }, b: { inFlight: 1, cap: 4 }, c: { inFlight: 2, cap: 4 } };
    expect(chooseAccounts(input({ loads, newSession: true })).order).toEqual(["b", "c", "a"]);
  });

  it("leaves out accounts past the quota threshold while another can serve", () => {
    const choice = chooseAccounts(input({ quotas: { a: past(96), b: below(10) } }));
    expect(choice.order).toEqual(["b", "c"]);
    expect(choice.allPastThreshold).toBe(false);
  });

  it("when every account is past the threshold, keeps them all, most left first, then the soonest reset", () => {
    const choice = chooseAccounts(input({ quotas: { a: past(99, 5000), b: past(96, 9000), c: past(96, 7000) } }));
    expect(choice.order).toEqual(["c", "b", "a"]);
    expect(choice.allPastThreshold).toBe(true);
  });

  it("puts accounts the request failed on last", () => {
    expect(chooseAccounts(input({ avoid: new Set(["a"]) })).order).toEqual(["b", "c", "a"]);
  });

  it("puts the session's previous account first when it has a free slot", () => {
    const choice = chooseAccounts(input({ sticky: { account: "c", waitedMs: 0, maxWaitMs: 2000, othersWaiting: 0 } }));
    expect(choice.order).toEqual(["c", "a", "b"]);
    expect(choice.holdForSticky).toBeUndefined();
  });

  it("holds a turn briefly for its full account while the queue is shorter than all slots", () => {
    const loads = { c: { inFlight: 4, cap: 4 } };
    const choice = chooseAccounts(
      input({ loads, sticky: { account: "c", waitedMs: 500, maxWaitMs: 2000, othersWaiting: 0 } }),
    );
    expect(choice.order).toEqual(["c"]);
    expect(choice.holdForSticky).toEqual({ account: "c", recheckInMs: 1500 });
  });

  it("does not hold when the wait is used up or as many wait as there are slots (slots win under saturation)", () => {
    const loads = { c: { inFlight: 4, cap: 4 } };
    for (const sticky of [
      { account: "c", waitedMs: 2000, maxWaitMs: 2000, othersWaiting: 0 },
      { account: "c", waitedMs: 0, maxWaitMs: 2000, othersWaiting: 12 },
      { account: "c", waitedMs: 0, maxWaitMs: 0, othersWaiting: 0 },
    ]) {
      const choice = chooseAccounts(input({ loads, sticky }));
      expect(choice.order).toEqual(["c", "a", "b"]);
      expect(choice.holdForSticky).toBeUndefined();
    }
  });

  it("moves a session off an account past the threshold, cooling (not usable) or already failed", () => {
    const sticky = { account: "a", waitedMs: 0, maxWaitMs: 2000, othersWaiting: 0 };
    expect(chooseAccounts(input({ sticky, quotas: { a: past(97) } })).order).toEqual(["b", "c"]);
    expect(chooseAccounts(input({ sticky, usable: ["b", "c"] })).order).toEqual(["b", "c"]);
    expect(chooseAccounts(input({ sticky, avoid: new Set(["a"]) })).order).toEqual(["b", "c", "a"]);
  });
});
