import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseQuotaAnswer } from "../../src/quota/parse.js";
import { pastThresholdUntil, usedPercent } from "../../src/quota/reading.js";

const AT = Date.UTC(2026, 10, 30, 8, 0, 0);
const fixture = (name: string) => readFileSync(new URL(`../fixtures/quota/${name}`, import.meta.url), "utf8");
const parse = (name: string, status = 200) => parseQuotaAnswer(status, fixture(name), AT);

function reading(name: string) {
  const answer = parse(name);
  if (answer.kind !== "reading") throw new Error(`expected a reading from ${name}, got ${JSON.stringify(answer)}`);
  return answer;
}

describe("parseQuotaAnswer", () => {
  it("reads a TOKENS_LIMIT plan: level, 5-hour, weekly and the tool-call row", () => {
    const { reading: r, ignoredRows } = reading("tokens-limit-pro.json");
    expect(ignoredRows).toBe(0);
    expect(r.level).toBe("pro");
    expect(r.at).toBe(AT);
    expect(r.fiveHour).toEqual({
      type: "TOKENS_LIMIT",
      percentage: expect.closeTo(42.765, 3),
      used: 342118003,
      limit: 800000000,
      remaining: 457881997,
      resetAt: 1796038708000,
    });
    expect(r.weekly?.percentage).toBeCloseTo(30.11, 2);
    expect(r.weekly?.resetAt).toBe(1796313600000);
    expect(r.tools?.type).toBe("TIME_LIMIT");
  });

  it("reads a CREDIT_LIMIT plan the same way", () => {
    const { reading: r } = reading("credit-limit.json");
    expect(r.level).toBe("lite");
    expect(r.fiveHour).toMatchObject({ type: "CREDIT_LIMIT", percentage: 96.5, used: 1930, limit: 2000 });
    expect(r.weekly?.percentage).toBeCloseTo(43.08, 2);
    expect(r.tools).toBeUndefined();
  });

  it("accepts rows that carry only a percentage (no usage, no reset time)", () => {
    const { reading: r } = reading("percentage-only.json");
    expect(r.fiveHour).toEqual({ type: "TOKENS_LIMIT", percentage: 12 });
    expect(r.weekly).toEqual({ type: "TOKENS_LIMIT", percentage: 100 });
  });

  it("ignores unknown row types and units, keeps the known rows, and counts what it ignored", () => {
    const answer = reading("unknown-types.json");
    expect(answer.ignoredRows).toBe(3);
    expect(answer.reading.fiveHour?.percentage).toBe(10);
    expect(answer.reading.weekly).toBeUndefined();
  });

  it("calls an answer with only unknown rows unknown, not an error", () => {
    expect(parse("only-unknown-rows.json")).toEqual({ kind: "unknown", why: "no known rows (1 ignored)" });
  });

  it("reports a bad key given in a 200 body", () => {
    expect(parse("bad-key-200.json")).toEqual({ kind: "bad-key", code: "401", message: "token expired or incorrect" });
  });

  it("reports a bad key given by the HTTP status, JSON or not", () => {
    expect(parseQuotaAnswer(401, '{"code":1001,"msg":"Invalid API key"}', AT)).toMatchObject({
      kind: "bad-key",
      code: "1001",
    });
    expect(parseQuotaAnswer(401, "Unauthorized", AT)).toMatchObject({ kind: "bad-key" });
  });

  it("treats a server error in a 200 body, missing data, HTML and empty text as unknown", () => {
    expect(parse("server-error-200.json")).toEqual({ kind: "unknown", why: "success: false code 500" });
    expect(parse("no-data.json")).toEqual({ kind: "unknown", why: "no data.limits array" });
    expect(parse("gateway-error.html", 502)).toMatchObject({ kind: "unknown", why: expect.stringContaining("HTML") });
    expect(parseQuotaAnswer(200, "", AT)).toMatchObject({ kind: "unknown" });
    expect(parseQuotaAnswer(200, "[1,2]", AT)).toMatchObject({ kind: "unknown" });
  });

  it("keeps the given percentage when used/limit disagree with it by a point or more", () => {
    const text = JSON.stringify({
      success: true,
      data: { limits: [{ type: "CREDIT_LIMIT", unit: 3, number: 5, usage: 2000, currentValue: 100, percentage: 40 }] },
    });
    expect(reading2(text).fiveHour?.percentage).toBe(40);
  });

  it("derives a percentage from used and limit when it is missing, and clamps it to 0–100", () => {
    const body = (row: object) =>
      JSON.stringify({ success: true, data: { limits: [{ type: "CREDIT_LIMIT", unit: 3, number: 5, ...row }] } });
    expect(reading2(body({ usage: 2000, currentValue: 500 })).fiveHour?.percentage).toBe(25);
    expect(reading2(body({ percentage: 130 })).fiveHour?.percentage).toBe(100);
    expect(reading2(body({ percentage: "7", nextResetTime: 1796038708 })).fiveHour).toEqual({
      type: "CREDIT_LIMIT",
      percentage: 7,
      resetAt: 1796038708000,
    });
  });
});

function reading2(text: string) {
  const answer = parseQuotaAnswer(200, text, AT);
  if (answer.kind !== "reading") throw new Error(JSON.stringify(answer));
  return answer.reading;
}

describe("quota readings", () => {
  it("take the higher of the current 5-hour and weekly percentages", () => {
    const { reading: r } = reading("tokens-limit-pro.json");
    expect(usedPercent(r, AT)).toBeCloseTo(42.765, 3);
    expect(usedPercent(r, 1796038708000)).toBeCloseTo(30.11, 2);
  });

  it("are past the threshold until the window's reset, and not after it", () => {
    const { reading: r } = reading("credit-limit.json");
    expect(pastThresholdUntil(r, 0.95, AT)).toBe(1796038708000);
    expect(pastThresholdUntil(r, 0.97, AT)).toBeUndefined();
    expect(pastThresholdUntil(r, 0.95, 1796038708000)).toBeUndefined();
  });

  it("without a reset time, stay past the threshold until a new reading says otherwise", () => {
    const { reading: r } = reading("percentage-only.json");
    expect(pastThresholdUntil(r, 0.95, AT)).toBe(Number.POSITIVE_INFINITY);
  });
});
