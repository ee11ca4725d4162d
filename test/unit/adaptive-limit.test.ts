import { describe, expect, it } from "vitest";
import {
  admissionCap,
  initialLimit,
  onAdmitted,
  onCompleted,
  onConcurrencyRefused,
  PROOF_COMPLETIONS,
  withdrawsTry,
  withoutTry,
  type AdaptiveRules,
  type LimitState,
} from "../../src/limits/adaptive-limit.js";

const rules = { enabled: true, decreaseFactor: 0.5, increaseAfter: 3, recoverAfterMs: 0 };

function complete(s: LimitState, n: number, r: AdaptiveRules = rules): LimitState {
  for (let i = 0; i < n; i++) s = onCompleted(s, r, true);
  return s;
}

describe("adaptive limit", () => {
  it("halves on a 1302 above anything admitted, bounded by what was in flight", () => {
    expect(onConcurrencyRefused(initialLimit(10, 10), rules, 0, 4).limit).toBe(4);
    expect(onConcurrencyRefused(initialLimit(4, 4), rules, 0, 3).limit).toBe(2);
  });
  it("goes down to what was in flight on a 1302 at a level Z.AI had admitted; climbs back soon only to a level proven by completions", () => {
    const admitted = onAdmitted(initialLimit(4, 4), 4);
    const proven = complete(admitted, PROOF_COMPLETIONS);
    expect(onConcurrencyRefused(proven, rules, 0, 3)).toMatchObject({ limit: 3, recoverTo: 4, probeAfter: 1 });
    // Only admitted (counts that ran ahead of Z.AI's can admit one too many, typically at start-up): a found limit.
    expect(onConcurrencyRefused(admitted, rules, 0, 3)).toMatchObject({
      limit: 3,
      recoverTo: undefined,
      probeAfter: 80,
    });
    // Never above what was in flight when it came back.
    expect(onConcurrencyRefused(proven, rules, 0, 1).limit).toBe(1);
  });
  it("ignores a 1302 at a count the limit already forbids (granted above it elsewhere)", () => {
    const s = onAdmitted(initialLimit(3, 3), 3);
    expect(onConcurrencyRefused(s, rules, s.epoch, 3)).toBe(s);
    expect(onConcurrencyRefused(s, rules, s.epoch, 5)).toBe(s);
  });
  it("never goes below 1", () => {
    let s = initialLimit(1, 1);
    s = onConcurrencyRefused(s, rules, s.epoch, 0);
    expect(s.limit).toBe(1);
  });
  it("counts a burst of refusals from one epoch once", () => {
    let s = initialLimit(10, 10);
    s = onConcurrencyRefused(s, rules, 0, 4);
    s = onConcurrencyRefused(s, rules, 0, 5);
    s = onConcurrencyRefused(s, rules, 0, 6);
    expect(s.limit).toBe(4);
  });
  it("rises by one after a run of clean completions at full use, up to the ceiling", () => {
    let s = { ...initialLimit(4, 5, 3), limit: 2 };
    s = complete(s, 3);
    expect(s).toMatchObject({ limit: 3, probeFrom: 2 });
    // The new level is proven by a few clean completions at it; they count toward the next rise.
    s = complete(s, PROOF_COMPLETIONS);
    expect(s).toMatchObject({ limit: 3, probeFrom: undefined, streak: PROOF_COMPLETIONS });
    s = complete(s, 1);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3 });
    s = complete(s, PROOF_COMPLETIONS + 1 + PROOF_COMPLETIONS + 5);
    expect(s).toMatchObject({ limit: 5, probeFrom: undefined, streak: PROOF_COMPLETIONS });
  });
  it("a failed try goes back to its proven level even when the refused request counted fewer others", () => {
    // Traced in L2: a waiter granted (with 2 others) before the try reached Z.AI after it and was the one refused.
    const s = complete(onAdmitted(initialLimit(3, 5, 3), 3), 3);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3 });
    expect(onConcurrencyRefused(s, rules, s.epoch, 2)).toMatchObject({ limit: 3, probeFrom: undefined });
  });
  it("a 1302 before a try is proven reverts it, even after some clean completions at it", () => {
    let s = complete(onAdmitted(initialLimit(3, 5, 3), 3), 3);
    s = complete(s, PROOF_COMPLETIONS - 1);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3 });
    s = onConcurrencyRefused(s, rules, s.epoch, 3);
    expect(s).toMatchObject({ limit: 3, probeFrom: undefined, probeAfter: 12 });
  });
  it("does not rise on completions that did not use the whole limit", () => {
    let s = { ...initialLimit(4, 4), limit: 2 };
    for (let i = 0; i < 10; i++) s = onCompleted(s, rules, false);
    expect(s.limit).toBe(2);
  });
  it("reverts a failed increase instead of halving, and waits four times as long before the next one", () => {
    let s = initialLimit(4, 8, 3);
    for (let i = 0; i < 3; i++) s = onCompleted(s, rules, true);
    expect(s).toMatchObject({ limit: 5, probeFrom: 4 });
    s = onConcurrencyRefused(s, rules, s.epoch, 4);
    // Back at the level proven before the try, which stays proven (its completions count toward the next try).
    expect(s).toMatchObject({ limit: 4, probeFrom: undefined, probeAfter: 12, streak: PROOF_COMPLETIONS });
    s = complete(s, 12 - PROOF_COMPLETIONS - 1);
    expect(s.limit).toBe(4);
    s = onCompleted(s, rules, true);
    expect(s.limit).toBe(5);
  });
  it("a try is not proven by requests granted before it (under the level below)", () => {
    let s = complete(onAdmitted(initialLimit(3, 5, 3), 3), 3);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3 });
    const before = s.epoch - 1;
    for (let i = 0; i < 5; i++) s = onCompleted(s, rules, true, before);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3, streak: 0 });
    s = complete(s, PROOF_COMPLETIONS);
    expect(s).toMatchObject({ limit: 4, probeFrom: undefined });
  });
  it("a proven level stays proven after a failed try above it: a later drop from it is climbed back soon", () => {
    let s = complete(onAdmitted(initialLimit(4, 8, 3), 4), 3);
    expect(s).toMatchObject({ limit: 5, probeFrom: 4 });
    s = onConcurrencyRefused(s, rules, s.epoch, 4);
    s = onConcurrencyRefused(s, rules, s.epoch, 3);
    expect(s).toMatchObject({ limit: 3, recoverTo: 4, probeAfter: 1 });
  });
  it("after a drop from a proven level, climbs back to it four times as often", () => {
    const r = { ...rules, increaseAfter: 8 };
    let s = complete(onAdmitted(initialLimit(4, 4, 8), 4), PROOF_COMPLETIONS, r);
    s = onConcurrencyRefused(s, r, s.epoch, 2);
    expect(s).toMatchObject({ limit: 2, recoverTo: 4, probeAfter: 2 });
    s = complete(s, 2, r);
    expect(s).toMatchObject({ limit: 3, probeFrom: 2 });
    s = onConcurrencyRefused(s, r, s.epoch, 2);
    expect(s).toMatchObject({ limit: 2, recoverTo: 4, probeAfter: 2 });
    // 2 to try 3, proven by PROOF_COMPLETIONS (counting toward the next), 1 more to try 4, proven.
    s = complete(s, 2 + PROOF_COMPLETIONS + 1 + PROOF_COMPLETIONS, r);
    expect(s).toMatchObject({ limit: 4, probeFrom: undefined, recoverTo: undefined });
  });
  it("a try that reaches the level to climb back to and is refused stops the hurry (that level is not there)", () => {
    const r = { ...rules, increaseAfter: 8 };
    let s = complete(onAdmitted(initialLimit(4, 4, 8), 4), PROOF_COMPLETIONS, r);
    s = onConcurrencyRefused(s, r, s.epoch, 3);
    for (let i = 0; i < 4; i++) s = onCompleted(s, r, true);
    expect(s).toMatchObject({ limit: 4, probeFrom: 3, recoverTo: 4 });
    s = onConcurrencyRefused(s, r, s.epoch, 3);
    // Back to 3; the next try waits four times the hurried count (2: one 1302 every few streams, measured), and the
    // one after that four times longer again.
    expect(s).toMatchObject({ limit: 3, recoverTo: undefined, probeAfter: 8 });
    for (let i = 0; i < 8; i++) s = onCompleted(s, r, true);
    s = onConcurrencyRefused(s, r, s.epoch, 3);
    expect(s).toMatchObject({ limit: 3, probeAfter: 32 });
  });
  it("a limit found by the slow start is not set below what Z.AI admitted (the refused one reached it after the try)", () => {
    const s = onAdmitted(initialLimit(10, 10, 20), 4);
    expect(onConcurrencyRefused(s, rules, s.epoch, 2)).toMatchObject({ limit: 4, confirmed: 4 });
    expect(onConcurrencyRefused(s, rules, s.epoch, 4)).toMatchObject({ limit: 4, confirmed: 4 });
    // Not halved below it either: 7 admitted of a configured 10.
    const seven = onAdmitted(initialLimit(10, 10, 20), 7);
    expect(onConcurrencyRefused(seven, rules, seven.epoch, 7)).toMatchObject({ limit: 7 });
  });
  it("a limit configured too high is found with one refusal, then probed rarely", () => {
    let s = onAdmitted(onAdmitted(initialLimit(10, 10, 20), 3), 4);
    s = onConcurrencyRefused(s, rules, s.epoch, 4);
    expect(s).toMatchObject({ limit: 4, recoverTo: undefined, probeAfter: 80 });
  });
  it("admits at most one above the highest count Z.AI took (slow start)", () => {
    let s = initialLimit(10, 10);
    expect(admissionCap(s, rules)).toBe(1);
    s = onAdmitted(s, 1);
    s = onAdmitted(s, 2);
    expect(admissionCap(s, rules)).toBe(3);
    expect(admissionCap(s, { ...rules, enabled: false })).toBe(10);
  });
  it("knows a try taken back by a process that joined during it from the try's real outcomes", () => {
    const trying = complete(onAdmitted(initialLimit(3, 5, 3), 3), 3);
    expect(withdrawsTry(trying, withoutTry(trying))).toBe(true);
    expect(withdrawsTry(trying, onConcurrencyRefused(trying, rules, trying.epoch, 3))).toBe(false); // failed: new epoch
    const proven = complete(trying, PROOF_COMPLETIONS);
    expect(withdrawsTry(trying, proven)).toBe(false);
    expect(withdrawsTry(proven, withoutTry(trying))).toBe(true); // the joiner's state arriving after the proof
  });
  it("does nothing when turned off", () => {
    const off = { ...rules, enabled: false };
    const s = initialLimit(4, 8);
    expect(onConcurrencyRefused(s, off, 0, 1)).toBe(s);
    expect(onCompleted(s, off, true)).toBe(s);
  });
});
