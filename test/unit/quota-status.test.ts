import { describe, expect, it } from "vitest";
import { projected, projectionText, quotaLine, quotaStatus } from "../../src/quota/quota-status.js";
import type { QuotaFile } from "../../src/quota/quota-file.js";
import { stateIds } from "../../src/state/ids.js";

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);
const MIN = 60_000;

describe("status: the projection of a quota reading (issue 18)", () => {
  it("moves the reading on at its pace and says when it reaches the threshold, before the reset only", () => {
    const w = { percent: 80, resetAt: new Date(T0 + 60 * MIN).toISOString() };
    const now = projected(w, 0.5, T0, 0.95, T0 + 10 * MIN);
    expect(now.projectedPercent).toBe(85);
    expect(now.crossesThresholdAt).toBe(new Date(T0 + 30 * MIN).toISOString());
    expect(projected(w, 0.1, T0, 0.95, T0).crossesThresholdAt).toBeUndefined(); // 150 min: after the reset
    expect(projected(w, undefined, T0, 0.95, T0 + MIN)).toEqual(w);
    expect(projectionText(now, T0 + 10 * MIN)).toMatch(/^ → ~85% now, threshold at /);
  });

  it("reads the pace stored beside the reading in the quota file", () => {
    const ids = stateIds([]);
    const file: QuotaFile = {
      version: 1,
      providers: {
        "zai-coding-plan": {
          [ids.storedAccount("a")]: {
            reading: { at: T0, fiveHour: { type: "TOKENS_LIMIT", percentage: 90 } },
            sessions: 1,
            pace: { fiveHour: 1 },
          },
        },
      },
    };
    const status = quotaStatus(file, "zai-coding-plan", "a", ids, { threshold: 0.95, now: T0 + 2 * MIN })!;
    expect(status.fiveHour?.projectedPercent).toBe(92);
    expect(quotaLine(status, T0 + 2 * MIN)).toContain("5-hour 90% → ~92% now, threshold at");
  });
});
