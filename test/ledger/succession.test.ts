import { describe, expect, it } from "vitest";
import { afterExit, afterLapse, afterSilence, UNKNOWN } from "../../src/ledger/succession.js";

describe("succession rules (who a new coordinator waits for, which leases it keeps counted)", () => {
  it("after an exit: every peer but the old coordinator, no ghosts; without a peers list only the time bound", () => {
    expect(afterExit(["old", "a", "b"])).toEqual({ awaiting: new Set(["a", "b"]), ghosts: [] });
    expect(afterExit([])).toEqual({ awaiting: new Set([UNKNOWN]), ghosts: [] });
  });

  it("after silence: the silent one's own slots exactly as it told them, the others' from its last pong", () => {
    const pong = {
      by: "old",
      leases: [
        ["old", "A", "m", 1],
        ["a", "A", "m", 2],
        ["b", "B", "m", 1],
      ] as Array<[string, string, string, number]>,
      busy: ["old", "a", "b", "c"],
    };
    const own = [
      { account: "A", model: "m" },
      { account: "B", model: "m" },
    ];
    const succession = afterSilence({ pong, own }, ["old", "a", "b", "c"]);
    // Its own are counted from `own` (2, told one by one), not from the older pong (1).
    expect(succession.ghosts).toEqual([
      ["a", "A", "m", 2],
      ["b", "B", "m", 1],
      ["old", "A", "m", 1],
      ["old", "B", "m", 1],
    ]);
    // Whoever held or waited is waited for; never the silent one.
    expect(succession.awaiting).toEqual(new Set(["a", "b", "c"]));
  });

  it("after silence without any pong: its told slots stay counted, and only the time bound ends the pause", () => {
    const succession = afterSilence({ pong: undefined, own: [{ account: "A", model: "m" }] }, ["old", "a"]);
    expect(succession.ghosts).toEqual([["old", "A", "m", 1]]);
    expect(succession.awaiting).toEqual(new Set([UNKNOWN]));
  });

  it("after a lapse: every lease of the stale table stays counted until its owner re-registers", () => {
    const owned: Array<[string, string, string, number]> = [
      ["me", "A", "m", 1],
      ["a", "A", "m", 1],
    ];
    expect(afterLapse(owned)).toEqual({ awaiting: new Set(["me", "a"]), ghosts: owned });
  });
});
