import { describe, expect, it } from "vitest";
import { calibrate, project, type UsageCount } from "../../src/quota/projection.js";
import type { QuotaReading } from "../../src/quota/reading.js";

const reading = (five: number, week = 10, resetAt = 5000): QuotaReading => ({
  at: 0,
  fiveHour: { type: "TOKENS_LIMIT", percentage: five, resetAt },
  weekly: { type: "TOKENS_LIMIT", percentage: week, resetAt: 9000 },
});
const used = (requests: number, tokens = 0, tokened = 0): UsageCount => ({ requests, tokens, tokened, cached: 0 });

describe("quota projection", () => {
  it("learns points per request from two readings and moves the last one on by what was used since", () => {
    const rate = calibrate(reading(90.2), reading(92.2, 10.5), used(20), {});
    expect(rate.fiveHour?.perRequest).toBeCloseTo(0.1);
    expect(rate.weekly?.perRequest).toBeCloseTo(0.025);
    const now = project(reading(92.2, 10.5), rate, used(30));
    expect(now.fiveHour?.percentage).toBeCloseTo(95.2);
    expect(now.weekly?.percentage).toBeCloseTo(11.25);
    expect(project(reading(99), rate, used(50)).fiveHour?.percentage).toBe(100);
  });

  it("counts the point two whole percentages may hide, so that the rate errs high", () => {
    expect(calibrate(reading(90), reading(92), used(4), {}).fiveHour?.perRequest).toBeCloseTo(0.75);
    expect(calibrate(reading(90.5), reading(92.5), used(4), {}).fiveHour?.perRequest).toBeCloseTo(0.5);
  });

  it("projects by tokens once tokens predicted the movement better than requests did", () => {
    // Two intervals of 10 requests each: the window moved with the tokens (1 point per 10,000), not the requests.
    let rate = calibrate(reading(10.1), reading(12.1), used(10, 20_000, 10), {});
    expect(rate.fiveHour?.perToken).toBeCloseTo(0.0001);
    rate = calibrate(reading(12.1), reading(18.1), used(10, 60_000, 10), rate);
    expect(rate.fiveHour!.tokenMiss).toBeLessThan(rate.fiveHour!.requestMiss);
    // 40,000 tokens seen in 4 answers, 2 more requests in flight at the average (6,000 per answer so far): 52,000.
    expect(project(reading(18.1), rate, used(6, 40_000, 4), 6_000).fiveHour?.percentage).toBeCloseTo(23.3);
  });

  it("keeps the previous rate across a reset or when nothing was used between the readings", () => {
    const prior = { fiveHour: { perRequest: 0.2, perToken: undefined, requestMiss: 0, tokenMiss: Infinity } };
    expect(calibrate(reading(90), reading(5, 10, 8000), used(20), prior).fiveHour).toEqual(prior.fiveHour);
    expect(calibrate(reading(90), reading(91), used(0), prior)).toEqual(prior);
  });

  it("without a rate, or with nothing used since, is the reading itself", () => {
    const r = reading(50);
    expect(project(r, {}, used(10))).toEqual(r);
    expect(
      project(r, { fiveHour: { perRequest: 1, perToken: undefined, requestMiss: 0, tokenMiss: Infinity } }, used(0)),
    ).toBe(r);
  });
});
