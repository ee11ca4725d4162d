import { describe, expect, it } from "vitest";
import { project, rateBetween } from "../../src/quota/projection.js";
import type { QuotaReading } from "../../src/quota/reading.js";

const reading = (five: number, week = 10, resetAt = 5000): QuotaReading => ({
  at: 0,
  fiveHour: { type: "TOKENS_LIMIT", percentage: five, resetAt },
  weekly: { type: "TOKENS_LIMIT", percentage: week, resetAt: 9000 },
});

describe("quota projection", () => {
  it("learns points per completion from two readings and moves the last one on by what was served since", () => {
    const rate = rateBetween(reading(90), reading(92, 10.5), 20, {});
    expect(rate.fiveHour).toBeCloseTo(0.1);
    expect(rate.weekly).toBeCloseTo(0.025);
    const now = project(reading(92, 10.5), rate, 30);
    expect(now.fiveHour?.percentage).toBeCloseTo(95);
    expect(now.weekly?.percentage).toBeCloseTo(11.25);
    expect(project(reading(99), rate, 50).fiveHour?.percentage).toBe(100);
  });

  it("keeps the previous rate across a reset or when nothing was served between the readings", () => {
    const prior = { fiveHour: 0.2 };
    expect(rateBetween(reading(90), reading(5, 10, 8000), 20, prior).fiveHour).toBe(0.2);
    expect(rateBetween(reading(90), reading(91), 0, prior)).toEqual(prior);
  });

  it("without a rate, or with nothing served since, is the reading itself", () => {
    const r = reading(50);
    expect(project(r, {}, 10)).toEqual(r);
    expect(project(r, { fiveHour: 1 }, 0)).toBe(r);
  });
});
