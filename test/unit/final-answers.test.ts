import { describe, expect, it } from "vitest";
import { looksRetryableToOpenCode } from "../../src/fetch/opencode-retry.js";
import { outlook } from "../../src/fetch/outlook.js";
import type { Blocker } from "../../src/pool/key-pool.js";
import { harness, keys, scriptedUpstream, sseError, zaiError } from "../helpers/scripted.js";

/**
 * OpenCode retries any error whose text matches its retry patterns, even a 403. A final answer must not, or the
 * user watches five pointless retries. These are the plugin's final answers.
 */
describe("final answers read as final to OpenCode", () => {
  const now = Date.UTC(2026, 10, 23, 12);
  const blockers: Blocker[] = [
    { kind: "model-unavailable", account: "A", code: "1113", wrongEndpoint: false, until: now + 3_600_000 },
    { kind: "account-disabled", account: "B", reason: "1309: plan expired" },
    { kind: "keys-disabled", account: "C" },
  ];

  it("model unavailable everywhere, on the coding endpoint and off it", () => {
    const onPlan = outlook(blockers, "glm-5", now);
    const wrongDoor = outlook([{ ...blockers[0]!, wrongEndpoint: true } as Blocker], "glm-5", now);
    for (const view of [onPlan, wrongDoor]) {
      expect(view.kind).toBe("never");
      expect(looksRetryableToOpenCode(view.message)).toBe(false);
    }
  });

  it("no usable keys", () => {
    const view = outlook(blockers.slice(1), "glm-4.7", now);
    expect(view).toMatchObject({ kind: "never", status: 401 });
    expect(looksRetryableToOpenCode(view.message)).toBe(false);
  });

  it.each([
    ["1211", () => zaiError(400, "1211", "Unknown Model, please check the model code")],
    [
      "1313 quoting an upstream text that says rate limit",
      () => zaiError(429, "1313", "Rate limit reached: usage pattern violates the Fair Usage Policy"),
    ],
    ["an unknown code inside a stream", () => sseError("1261")],
  ])("%s", async (_name, answer) => {
    const upstream = scriptedUpstream(answer);
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream });
    const res = await h.call();
    expect([400, 401, 403]).toContain(res.status);
    expect(looksRetryableToOpenCode(await res.text())).toBe(false);
    expect(upstream.calls).toHaveLength(1);
  });

  it("the check itself catches the texts OpenCode retries", () => {
    expect(looksRetryableToOpenCode("Rate limit reached for requests")).toBe(true);
    expect(looksRetryableToOpenCode("Upstream returned 502")).toBe(true);
    expect(looksRetryableToOpenCode("Insufficient balance or no resource package")).toBe(false);
  });
});
