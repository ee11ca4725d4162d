import { describe, expect, it } from "vitest";
import {
  DISABLED_TTL_MS,
  LIMIT_TTL_MS,
  emptyProviderState,
  mergeState,
  pruneState,
  type ProviderState,
} from "../../src/lib.js";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOUR = 3_600_000;

function state(parts: Partial<ProviderState>): ProviderState {
  return { ...emptyProviderState(), ...parts };
}
const cooldown = (until: number, at = NOW - 1000, code = "1308") => ({
  until,
  reason: "5-hour usage window spent",
  code,
  at,
});
const disabled = (at: number) => ({ reason: "rejected (401)", code: "1001", at });
const unavailable = (until: number, at = NOW - 1000) => ({ until, code: "1113", wrongEndpoint: false, at });

describe("mergeState", () => {
  it("keeps the later cooldown, whichever side has it", () => {
    const file = state({ accountCooldowns: { a: cooldown(NOW + HOUR), b: cooldown(NOW + 3 * HOUR) } });
    const memory = state({ accountCooldowns: { a: cooldown(NOW + 2 * HOUR), c: cooldown(NOW + HOUR) } });
    const merged = mergeState(file, memory, NOW);
    expect(merged.accountCooldowns.a?.until).toBe(NOW + 2 * HOUR);
    expect(merged.accountCooldowns.b?.until).toBe(NOW + 3 * HOUR);
    expect(merged.accountCooldowns.c?.until).toBe(NOW + HOUR);
  });

  it("keeps the file's entry on a tie, so equal views do not flip-flop", () => {
    const file = state({ keyCooldowns: { fp1: cooldown(NOW + HOUR, NOW - 5000) } });
    const memory = state({ keyCooldowns: { fp1: cooldown(NOW + HOUR, NOW) } });
    expect(mergeState(file, memory, NOW).keyCooldowns.fp1?.at).toBe(NOW - 5000);
  });

  it("unites disabled keys and accounts", () => {
    const file = state({ disabledKeys: { fp1: disabled(NOW - HOUR) }, disabledAccounts: { x: disabled(NOW - HOUR) } });
    const memory = state({ disabledKeys: { fp2: disabled(NOW - 60_000) } });
    const merged = mergeState(file, memory, NOW);
    expect(Object.keys(merged.disabledKeys).sort()).toEqual(["fp1", "fp2"]);
    expect(Object.keys(merged.disabledAccounts)).toEqual(["x"]);
  });

  it("forgets disabled entries after 24 hours, so the key is checked again", () => {
    const file = state({
      disabledKeys: { old: disabled(NOW - DISABLED_TTL_MS - 1), recent: disabled(NOW - DISABLED_TTL_MS + 60_000) },
    });
    expect(Object.keys(mergeState(file, emptyProviderState(), NOW).disabledKeys)).toEqual(["recent"]);
  });

  it("keeps the later re-check time of an unavailable (account, model) pair and drops past ones", () => {
    const file = state({ unavailable: { a: { "glm-5": unavailable(NOW + HOUR), "glm-4.6": unavailable(NOW - 1) } } });
    const memory = state({ unavailable: { a: { "glm-5": unavailable(NOW + 2 * HOUR) } } });
    const merged = mergeState(file, memory, NOW);
    expect(merged.unavailable).toEqual({ a: { "glm-5": unavailable(NOW + 2 * HOUR) } });
  });

  it("takes the most recently learned limit, even when it is higher", () => {
    const file = state({
      limits: { a: { "glm-4.7": { limit: 3, at: NOW - HOUR } }, b: { "glm-4.7": { limit: 4, at: NOW - 10 } } },
    });
    const memory = state({
      limits: { a: { "glm-4.7": { limit: 8, at: NOW - 60 } }, b: { "glm-4.7": { limit: 9, at: NOW - HOUR } } },
    });
    const merged = mergeState(file, memory, NOW);
    expect(merged.limits.a?.["glm-4.7"]?.limit).toBe(8);
    expect(merged.limits.b?.["glm-4.7"]?.limit).toBe(4);
  });

  it("forgets learned limits after a week", () => {
    const file = state({ limits: { a: { "glm-4.7": { limit: 3, at: NOW - LIMIT_TTL_MS - 1 } } } });
    expect(mergeState(file, emptyProviderState(), NOW).limits).toEqual({});
  });

  it("drops past cooldowns", () => {
    const file = state({ accountCooldowns: { a: cooldown(NOW) }, keyCooldowns: { fp: cooldown(NOW - 1) } });
    const merged = mergeState(file, emptyProviderState(), NOW);
    expect(merged.accountCooldowns).toEqual({});
    expect(merged.keyCooldowns).toEqual({});
  });

  describe("reset markers", () => {
    it("drop entries set before them, from either side, and keep newer ones", () => {
      const resetAt = NOW - 10_000;
      const file = state({
        accountCooldowns: { a: cooldown(NOW + HOUR, resetAt - 5000) },
        resets: { accounts: { a: resetAt }, keys: { fp1: resetAt } },
      });
      const memory = state({
        accountCooldowns: { a: cooldown(NOW + 2 * HOUR, resetAt - 1) },
        disabledKeys: { fp1: disabled(resetAt), fp2: disabled(resetAt - 1) },
        keyCooldowns: { fp1: cooldown(NOW + HOUR, resetAt + 1) },
        unavailable: {
          a: { "glm-5": unavailable(NOW + HOUR, resetAt - 1) },
          b: { "glm-5": unavailable(NOW + HOUR, resetAt - 1) },
        },
      });
      const merged = mergeState(file, memory, NOW);
      expect(merged.accountCooldowns).toEqual({});
      expect(Object.keys(merged.disabledKeys)).toEqual(["fp2"]);
      expect(Object.keys(merged.keyCooldowns)).toEqual(["fp1"]);
      expect(Object.keys(merged.unavailable)).toEqual(["b"]);
      expect(merged.resets).toEqual({ accounts: { a: resetAt }, keys: { fp1: resetAt } });
    });

    it("'all' covers every key and account but not learned limits", () => {
      const file = state({ resets: { all: NOW - 1, accounts: {}, keys: {} } });
      const memory = state({
        accountCooldowns: { a: cooldown(NOW + HOUR) },
        disabledAccounts: { b: disabled(NOW - 2) },
        keyCooldowns: { fp: cooldown(NOW + HOUR) },
        limits: { a: { "glm-4.7": { limit: 4, at: NOW - 5 } } },
      });
      const merged = mergeState(file, memory, NOW);
      expect(merged.accountCooldowns).toEqual({});
      expect(merged.disabledAccounts).toEqual({});
      expect(merged.keyCooldowns).toEqual({});
      expect(merged.limits.a?.["glm-4.7"]?.limit).toBe(4);
    });

    it("keep the latest marker per entry and expire after eight days", () => {
      const file = state({ resets: { all: NOW - 9 * 24 * HOUR, accounts: { a: NOW - 100 }, keys: {} } });
      const memory = state({ resets: { accounts: { a: NOW - 50 }, keys: { fp: NOW - 9 * 24 * HOUR } } });
      expect(mergeState(file, memory, NOW).resets).toEqual({ accounts: { a: NOW - 50 }, keys: {} });
    });
  });

  describe("with a base (what memory held after the last merge)", () => {
    it("drops from the file what memory dropped since", () => {
      const entry = unavailable(NOW + HOUR);
      const base = state({ unavailable: { a: { "glm-5": entry } } });
      const file = state({ unavailable: { a: { "glm-5": entry } } });
      expect(mergeState(file, emptyProviderState(), NOW, base).unavailable).toEqual({});
    });

    it("keeps a newer version another process wrote meanwhile", () => {
      const base = state({ unavailable: { a: { "glm-5": unavailable(NOW + HOUR) } } });
      const file = state({ unavailable: { a: { "glm-5": unavailable(NOW + 2 * HOUR, NOW) } } });
      expect(mergeState(file, emptyProviderState(), NOW, base).unavailable.a?.["glm-5"]?.until).toBe(NOW + 2 * HOUR);
    });

    it("leaves entries memory never had (other keys, other accounts) alone", () => {
      const file = state({ disabledKeys: { unknownFp: disabled(NOW - HOUR) } });
      expect(Object.keys(mergeState(file, emptyProviderState(), NOW, emptyProviderState()).disabledKeys)).toEqual([
        "unknownFp",
      ]);
    });
  });

  it("treats ids read from a file as plain keys", () => {
    const file = JSON.parse(
      `{"accountCooldowns":{"__proto__":{"until":${NOW + HOUR},"reason":"r","at":${NOW}}}}`,
    ) as Partial<ProviderState>;
    const merged = mergeState(state(file), emptyProviderState(), NOW);
    expect(Object.keys(merged.accountCooldowns)).toEqual(["__proto__"]);
  });
});

describe("pruneState", () => {
  it("applies markers and expiry without anything to merge", () => {
    const s = state({
      accountCooldowns: { a: cooldown(NOW + HOUR, NOW - 10) },
      resets: { all: NOW, accounts: {}, keys: {} },
    });
    expect(pruneState(s, NOW).accountCooldowns).toEqual({});
  });
});
