import { describe, expect, it } from "vitest";
import { classify, parseResetTime, parseUpstreamError, type Answer } from "../../src/lib.js";

const CODING = "https://api.z.ai/api/coding/paas/v4/chat/completions";
const GENERAL = "https://api.z.ai/api/paas/v4/chat/completions";

function answer(status: number, body: string, url = CODING, retryAfterMs?: number): Answer {
  return { status, ...parseUpstreamError(body), retryAfterMs, url };
}
const zai = (code: string | number, message = "m") => JSON.stringify({ error: { code, message } });

describe("parseUpstreamError", () => {
  it("reads the OpenAI-compatible shape with a string code", () => {
    expect(parseUpstreamError(zai("1302", "High concurrency"))).toEqual({ code: "1302", message: "High concurrency" });
  });
  it("reads a numeric code", () => {
    expect(parseUpstreamError(zai(1308)).code).toBe("1308");
  });
  it("reads the top-level shape with msg and request_id", () => {
    expect(parseUpstreamError(JSON.stringify({ code: 1113, msg: "Insufficient balance", request_id: "r1" }))).toEqual({
      code: "1113",
      message: "Insufficient balance",
    });
  });
  it("reads the Anthropic shape where the code is only inside the message brackets", () => {
    const body = JSON.stringify({
      type: "error",
      error: { type: "rate_limit_error", message: "[1308][Usage limit reached][req-1]" },
    });
    expect(parseUpstreamError(body).code).toBe("1308");
  });
  it("finds a code in plain text and gives none for a body without one", () => {
    expect(parseUpstreamError('upstream said "code":"1305"').code).toBe("1305");
    expect(parseUpstreamError("Bad Gateway").code).toBeUndefined();
  });
});

describe("classify", () => {
  it.each([
    [401, zai("1001"), "key-invalid"],
    [401, "unauthorized", "key-invalid"],
    [401, zai("1111"), "account-unusable"],
    [429, zai("1309"), "account-unusable"],
    [429, zai("1302"), "concurrency"],
    [429, zai("1303"), "transient"],
    [429, zai("1305"), "transient"],
    [500, "oops", "transient"],
    [503, zai("1234"), "transient"],
    [429, "{}", "key-rate-limited"],
    [429, zai("1308", "Usage limit reached for 5 hour. Your limit will reset at 2026-09-09 05:38:28"), "usage-window"],
    [429, zai("1310"), "usage-window"],
    [429, zai("1113"), "model-unavailable"],
    [403, zai("1311"), "model-unavailable"],
    [400, zai("1211"), "fatal"],
    [429, zai("1313"), "fatal"],
    [400, zai("1214"), "pass"],
    [400, zai("1301"), "pass"],
    [404, "not found", "pass"],
    [200, "", "ok"],
  ] as const)("status %i with %s is %s", (status, body, kind) => {
    expect(classify(answer(status, body)).kind).toBe(kind);
  });

  it("marks 1302 account-wide by its kind, never as a key problem", () => {
    expect(classify(answer(429, zai("1302")))).toMatchObject({ kind: "concurrency", code: "1302" });
  });
  it("treats 1303 as account-wide and 1305 as not", () => {
    expect(classify(answer(429, zai("1303")))).toMatchObject({ accountWide: true });
    expect(classify(answer(429, zai("1305")))).toMatchObject({ accountWide: false });
  });
  it("reads the 1308 reset stamp as Beijing time", () => {
    const v = classify(answer(429, zai("1308", "Your limit will reset at 2026-09-09 05:38:28")));
    expect(v).toMatchObject({ kind: "usage-window", resetAt: Date.UTC(2026, 8, 8, 21, 38, 28) });
  });
  it("flags 1113 off the coding endpoint as the wrong door", () => {
    expect(classify(answer(429, zai("1113"), GENERAL))).toMatchObject({ wrongEndpoint: true });
    expect(classify(answer(429, zai("1113"), CODING))).toMatchObject({ wrongEndpoint: false });
  });
  it("carries Retry-After into a plain 429", () => {
    expect(classify(answer(429, "", CODING, 7000))).toMatchObject({ kind: "key-rate-limited", retryAfterMs: 7000 });
  });
  it("names 1211 and 1313 reasons", () => {
    expect(classify(answer(400, zai("1211")))).toMatchObject({ reason: "unknown-model" });
    expect(classify(answer(429, zai("1313")))).toMatchObject({ reason: "fair-use" });
  });
});

describe("parseResetTime", () => {
  it("reads a zoneless stamp as UTC+8", () => {
    expect(parseResetTime("reset at 2026-01-01 08:00:00")).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
  });
  it("honours an explicit zone", () => {
    expect(parseResetTime("reset at 2026-01-01T08:00:00Z")).toBe(Date.UTC(2026, 0, 1, 8));
    expect(parseResetTime("reset at 2026-01-01 08:00:00+02:00")).toBe(Date.UTC(2026, 0, 1, 6));
  });
  it("gives undefined when there is no stamp", () => {
    expect(parseResetTime("Usage limit reached")).toBeUndefined();
  });
});
