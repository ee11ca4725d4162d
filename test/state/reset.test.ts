import { describe, expect, it } from "vitest";
import { emptyProviderState, fingerprint, resolveResetScope, stateIds, withResetMarkers } from "../../src/lib.js";
import { fileKey, sampleKeys } from "./helpers.js";

const NOW = Date.UTC(2026, 10, 23, 12);

describe("stateIds", () => {
  it("names shared accounts by name and single-key accounts by the key's fingerprint", () => {
    const ids = stateIds([...sampleKeys(), { ...fileKey("env-1", "sk-test-env"), source: "env" }]);
    expect(ids.storedAccount("personal")).toBe("personal");
    expect(ids.storedAccount("work")).toBe(`fp:${fingerprint("sk-test-work")}`);
    expect(ids.storedAccount("env-1")).toBe(`fp:${fingerprint("sk-test-env")}`);
    expect(ids.accountOf(`fp:${fingerprint("sk-test-work")}`)).toBe("work");
    expect(ids.keyIdOf(fingerprint("sk-test-spare"))).toBe("spare");
  });

  it("keeps a one-key account's explicit name when it differs from the key id", () => {
    expect(stateIds([fileKey("k1", "sk-test-1", "team")]).storedAccount("team")).toBe("team");
  });
});

describe("resolveResetScope", () => {
  it("resolves all, a key id, an account (with its keys), or nothing", () => {
    const keys = sampleKeys();
    expect(resolveResetScope("all", keys)).toEqual({ kind: "all" });
    expect(resolveResetScope("spare", keys)).toEqual({ kind: "some", accounts: [], keyIds: ["spare"] });
    expect(resolveResetScope("personal", keys)).toEqual({
      kind: "some",
      accounts: ["personal"],
      keyIds: ["main", "spare"],
    });
    expect(resolveResetScope("work", keys)).toEqual({ kind: "some", accounts: ["work"], keyIds: ["work"] });
    expect(resolveResetScope("nobody", keys)).toBeUndefined();
  });
});

describe("withResetMarkers", () => {
  it("drops covered entries at once and records markers by stored id", () => {
    const keys = sampleKeys();
    const ids = stateIds(keys);
    const state = {
      ...emptyProviderState(),
      accountCooldowns: { personal: { until: NOW + 1000, reason: "r", code: "1308", at: NOW - 1 } },
      disabledKeys: {
        [fingerprint("sk-test-spare")]: { reason: "r", at: NOW - 1 },
        other: { reason: "r", at: NOW - 1 },
      },
    };
    const after = withResetMarkers(state, resolveResetScope("personal", keys)!, ids, NOW);
    expect(after.accountCooldowns).toEqual({});
    expect(Object.keys(after.disabledKeys)).toEqual(["other"]);
    expect(after.resets.accounts).toEqual({ personal: NOW });
  });
});
