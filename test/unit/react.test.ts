import { describe, expect, it } from "vitest";
import { OUTCOMES } from "../../src/classify/outcomes.js";
import { CODE_RULES, classify } from "../../src/classify/classify.js";
import type { Verdict, VerdictKind } from "../../src/classify/verdict.js";
import { createAnswers } from "../../src/fetch/answers.js";
import { react, type Failure, type Reactions } from "../../src/fetch/react.js";
import { keysFileSchema, Notifier, Redactor, type ApiKey } from "../../src/lib.js";
import { KeyPool } from "../../src/pool/key-pool.js";
import { pairKey } from "../../src/limits/pair-key.js";
import { Leases } from "../../src/leases/leases.js";
import { Limits } from "../../src/limits/limits.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { recordingSink } from "../helpers/sink.js";

const MODEL = "glm-4.7";
const key = (id: string, account: string): ApiKey => ({
  id,
  label: id,
  apiKey: `sk-${id}-0123456789abcdef`,
  account,
  provider: "zai-coding-plan",
  source: "file",
});
const KEYS = [key("a1", "A"), key("a2", "A"), key("b1", "B")];

function setup() {
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse({ retry: { baseDelayMs: 400 } });
  const clock = new FakeClock(1_000_000, { autoAdvance: false });
  const { sink, toasts } = recordingSink();
  const notifier = new Notifier({ clock, sink, redactor: new Redactor(), toasts: true, intervalMs: 0 });
  const pool = new KeyPool(KEYS);
  const limits = new Limits(settings, () => {}, clock);
  const leases = new Leases(clock, limits);
  const ctx: Reactions = {
    pool,
    leases,
    notifier,
    settings,
    clock,
    random: () => 0.5,
    answers: createAnswers(new Redactor()),
    endpoint: "https://api.z.ai/api/coding/paas/v4",
    models: () => [MODEL, "glm-4.5-air"],
  };
  const failure = (verdict: Verdict, more: Partial<Failure> = {}): Failure => ({
    verdict,
    key: KEYS[0]!,
    model: MODEL,
    url: "https://api.z.ai/api/coding/paas/v4/chat/completions",
    attempt: 1,
    avoid: new Set(),
    limitLowered: false,
    ...more,
  });
  return { ctx, clock, pool, toasts, failure, close: () => leases.close() };
}

/** One verdict of each kind, as classify.ts makes them. */
const SAMPLES: Record<Exclude<VerdictKind, "ok" | "pass">, Verdict> = {
  "key-invalid": { kind: "key-invalid", code: "1001", message: "bad key" },
  "account-unusable": { kind: "account-unusable", code: "1112", message: "locked" },
  concurrency: { kind: "concurrency", code: "1302", message: "High concurrency" },
  transient: { kind: "transient", code: "1303", message: "busy", retryAfterMs: 2_000, accountWide: true },
  "key-rate-limited": { kind: "key-rate-limited", code: undefined, message: "slow down", retryAfterMs: 3_000 },
  "usage-window": { kind: "usage-window", code: "1308", message: "spent", resetAt: 1_000_000 + 3_600_000 },
  "model-unavailable": {
    kind: "model-unavailable",
    code: "1113",
    message: "Insufficient balance",
    wrongEndpoint: false,
  },
  fatal: { kind: "fatal", code: "1313", message: "fair use", reason: "fair-use" },
};

describe("the outcome table", () => {
  it("lists exactly the codes classify.ts turns into each verdict", () => {
    const listed = Object.entries(OUTCOMES).flatMap(([kind, rule]) => rule.codes.map((code) => [code, kind]));
    const classified = Object.keys(CODE_RULES).map((code) => [
      code,
      classify({ status: 429, code, message: "", retryAfterMs: undefined, url: "" }).kind,
    ]);
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(classified));
  });
});

describe("react() applies the table", () => {
  for (const [kind, verdict] of Object.entries(SAMPLES)) {
    const rule = OUTCOMES[kind as VerdictKind];
    it(`${kind}: key ${rule.key}, account ${rule.account}, caller ${rule.caller}`, () => {
      const { ctx, clock, pool, failure, close } = setup();
      const now = clock.now();
      const step = react(ctx, failure(verdict));
      const s = pool.state;
      const keyState = s.disabledKeys.has("a1") ? "disable" : s.keyCooldowns.has("a1") ? "cool" : "keep";
      expect(keyState).toBe(rule.key);
      expect(s.disabledAccounts.has("A")).toBe(rule.account === "disable");
      expect(s.accountCooldowns.has("A")).toBe(rule.account === "cool-until-reset");
      expect(s.unavailable.has(pairKey("A", MODEL))).toBe(rule.account === "mark-model-unavailable");
      const held = s.holds.get(pairKey("A", MODEL));
      expect(held !== undefined).toBe(
        rule.account === "hold-unless-limit-lowered" || rule.account === "hold-if-account-wide",
      );
      if (held !== undefined) expect(held).toBeGreaterThan(now);
      expect(step.kind).toBe(rule.caller === "answer" ? "return" : "retry");
      close();
    });
  }

  it("1302: no hold-back when the limit was lowered (the lower limit already keeps the account below it)", () => {
    const { ctx, pool, failure, close } = setup();
    expect(react(ctx, failure(SAMPLES.concurrency, { limitLowered: true }))).toEqual({ kind: "retry", delayMs: 0 });
    expect(pool.state.holds.size).toBe(0);
    close();
  });

  it("transient: retried at once when another account has a free slot, after Retry-After when none has", () => {
    const { ctx, pool, failure, close } = setup();
    const verdict: Verdict = {
      kind: "transient",
      code: "1305",
      message: "busy",
      retryAfterMs: 2_000,
      accountWide: false,
    };
    const first = failure(verdict);
    expect(react(ctx, first)).toEqual({ kind: "retry", delayMs: 0 });
    expect(first.avoid).toEqual(new Set(["A"]));
    expect(pool.state.holds.size).toBe(0); // not account-wide
    pool.disableAccount("B", "test", undefined, 0);
    expect(react(ctx, failure(verdict))).toEqual({ kind: "retry", delayMs: 2_000 });
    close();
  });

  it("usage window: cools the account until the stated reset and says when", () => {
    const { ctx, pool, toasts, failure, close } = setup();
    react(ctx, failure(SAMPLES["usage-window"]));
    expect(pool.state.accountCooldowns.get("A")).toMatchObject({
      until: 1_000_000 + 3_600_000,
      code: "1308",
      reason: "5-hour usage window spent",
    });
    expect(toasts.at(-1)?.message).toMatch(
      /^Account "A" used up its 5-hour usage window \(1308\); it resets at .* \(in 60 min\)\. Other accounts serve meanwhile\.$/,
    );
    close();
  });

  it("fatal: answers at once, 1211 naming the models the account can be asked for", async () => {
    const { ctx, failure, close } = setup();
    const step = react(
      ctx,
      failure({ kind: "fatal", code: "1211", message: "Unknown Model", reason: "unknown-model" }),
    );
    expect(step.kind).toBe("return");
    if (step.kind === "return") expect(await step.response.text()).toContain("glm-4.5-air");
    close();
  });
});
