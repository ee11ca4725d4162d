import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/lib.js";
import { parseRetryAfter } from "../../src/retry/retry-after.js";

describe("backoffDelay", () => {
  const opts = { baseDelayMs: 500, maxDelayMs: 4000 };
  it("draws uniformly below base·2^(n-1)", () => {
    expect(backoffDelay(1, opts, () => 0.999)).toBe(499);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(1000);
  });
  it("is capped and can be zero (full jitter)", () => {
    expect(backoffDelay(10, opts, () => 0.999)).toBe(3996);
    expect(backoffDelay(5, opts, () => 0)).toBe(0);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 0, 1);
  it("prefers retry-after-ms", () => {
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1500);
  });
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter(new Headers({ "retry-after": "3" }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ "retry-after": new Date(now + 10_000).toUTCString() }), now)).toBe(10_000);
  });
  it("gives undefined for absent or unreadable values", () => {
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
  });
});
