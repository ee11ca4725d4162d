import { OUTCOMES, type AccountAction, type OutcomeRule } from "../classify/outcomes.js";
import type { Verdict } from "../classify/verdict.js";
import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import type { Notifier } from "../notify/notifier.js";
import type { KeyPool } from "../pool/key-pool.js";
import { coolUsageWindow } from "../pool/usage-window.js";
import { backoffDelay } from "../retry/backoff.js";
import type { Leases } from "../leases/leases.js";
import type { Clock } from "../util/clock.js";
import type { Random } from "../util/random.js";
import type { Answers } from "./answers.js";
import { quotable } from "./opencode-retry.js";

/** What a failed attempt may change: the key pool, the leases' wake-ups, the user's notifications. */
export interface Reactions {
  pool: KeyPool;
  leases: Leases;
  notifier: Notifier;
  settings: Settings;
  clock: Clock;
  random: Random;
  answers: Answers;
  /** The provider's Coding Plan endpoint (hints name it). */
  endpoint: string;
  /** Models an account can still be asked for (for 1211 advice). */
  models: (account: string) => string[];
}

/** One failed attempt, as classified. */
export interface Failure {
  verdict: Verdict;
  key: ApiKey;
  model: string;
  url: string;
  /** Attempts made so far for this request, this one included. */
  attempt: number;
  /** Accounts this request should try last (they failed it transiently). */
  avoid: Set<string>;
  /** A 1302 lowered the account's learned limit for the model. */
  limitLowered: boolean;
}

/** Retry (after a delay, 0 = at once), or answer the caller now. */
export type Step = { kind: "retry"; delayMs: number } | { kind: "return"; response: Response };

/**
 * Applies src/classify/outcomes.ts to a failed attempt: its `key`, `account` and `caller` columns, with the toasts
 * that tell the user (the `lease` column was applied by inspect.ts when it ended the slot).
 */
export function react(ctx: Reactions, failure: Failure): Step {
  const { verdict } = failure;
  const rule = OUTCOMES[verdict.kind];
  if (verdict.kind === "ok" || verdict.kind === "pass") return { kind: "retry", delayMs: 0 };
  onKey(ctx, failure, rule.key);
  // Drawn only when used (the backoff takes a random jitter).
  let drawn: number | undefined;
  const delay = () =>
    (drawn ??=
      verdict.kind === "transient" && verdict.retryAfterMs !== undefined
        ? verdict.retryAfterMs
        : backoff(ctx, failure));
  onAccount(ctx, failure, rule.account, delay);
  switch (rule.caller) {
    case "deliver":
    case "retry-now":
      return { kind: "retry", delayMs: 0 };
    case "retry-elsewhere": {
      const { pool, leases, clock } = ctx;
      const { model, avoid, key } = failure;
      avoid.add(key.account);
      const free = (a: string) => !avoid.has(a) && leases.hasFreeSlot(a, model);
      return { kind: "retry", delayMs: pool.usableAccounts(model, clock.now()).some(free) ? 0 : delay() };
    }
    case "answer":
      if (verdict.kind !== "fatal")
        throw new Error(`outcomes.ts: only fatal verdicts answer at once, not ${verdict.kind}`);
      return { kind: "return", response: fatal(ctx, verdict, failure.model, failure.key.account) };
    default:
      return rule.caller satisfies never;
  }
}

/** 1308/1310 without a readable reset stamp: look again after this long. */
const UNSTATED_RESET_MS = 15 * 60_000;
/** A reset stamp already past (clock skew, drift): look again after this long. */
const STALE_RESET_MS = 60_000;

/** When a spent usage window resets: its stated stamp, else a while from now. */
function usageResetAt(stated: number | undefined, now: number): number {
  return stated === undefined ? now + UNSTATED_RESET_MS : stated > now ? stated : now + STALE_RESET_MS;
}

function backoff(ctx: Reactions, failure: Failure): number {
  return backoffDelay(failure.attempt, ctx.settings.retry, ctx.random);
}

function onKey(ctx: Reactions, failure: Failure, action: OutcomeRule["key"]): void {
  const { pool, leases, notifier, settings, clock } = ctx;
  const { verdict, key } = failure;
  const now = clock.now();
  if (action === "disable") {
    const code = "code" in verdict ? verdict.code : undefined;
    const message = "message" in verdict ? verdict.message : "";
    pool.disableKey(key.id, `rejected (${code ?? "401"})`, code, now);
    notifier.toast(
      "key-disabled",
      `Key "${key.label}" was rejected by Z.AI (${code ?? "401"}: ${message || "invalid"}); it stays disabled ` +
        `for 24 h in every OpenCode process on this machine. After fixing it: \`npx oc-zai-multi-account status ` +
        `--reset ${key.id}\`.`,
    );
  } else if (action === "cool") {
    const retryAfterMs = "retryAfterMs" in verdict ? verdict.retryAfterMs : undefined;
    const until = now + (retryAfterMs ?? settings.rotation.cooldownMs);
    pool.coolKey(key.id, { until, reason: "rate limited (429)", code: "code" in verdict ? verdict.code : undefined });
    leases.wakeAt(until);
  }
}

function onAccount(ctx: Reactions, failure: Failure, action: AccountAction, delay: () => number): void {
  const { pool, leases, notifier, settings, clock } = ctx;
  const { verdict, key, model } = failure;
  const account = key.account;
  const now = clock.now();
  switch (action) {
    case "keep":
      return;
    case "disable": {
      const code = "code" in verdict ? (verdict.code ?? "") : "";
      const message = "message" in verdict ? verdict.message : "";
      pool.disableAccount(account, `${code}: ${message}`, code, now);
      notifier.toast(
        "account-disabled",
        `Account "${account}" is unusable (${code}: ${message}); its keys stay disabled for 24 h in every ` +
          `OpenCode process on this machine. After fixing it: \`npx oc-zai-multi-account status --reset ` +
          `${account}\`.`,
        "error",
      );
      return;
    }
    case "cool-until-reset": {
      if (verdict.kind !== "usage-window") return;
      coolUsageWindow(
        { pool, notifier, wakeAt: (t) => leases.wakeAt(t) },
        account,
        verdict.code,
        usageResetAt(verdict.resetAt, now),
        now,
      );
      return;
    }
    case "hold-unless-limit-lowered":
      if (!failure.limitLowered) hold(ctx, account, model, now + Math.max(100, delay()));
      return;
    case "hold-if-account-wide":
      if (verdict.kind === "transient" && verdict.accountWide) hold(ctx, account, model, now + delay());
      return;
    case "mark-model-unavailable": {
      if (verdict.kind !== "model-unavailable") return;
      pool.markUnavailable(account, model, verdict.code, verdict.wrongEndpoint, now + settings.unavailableRecheckMs);
      notifier.toast(
        "model-unavailable",
        verdict.wrongEndpoint
          ? `Z.AI answered ${verdict.code} "Insufficient balance" on ${failure.url}: Coding Plan keys need the ` +
              `coding endpoint ${ctx.endpoint}.`
          : `${model} is not in the plan of account "${account}" (${verdict.code}); other accounts will serve it.`,
      );
      return;
    }
    default:
      return action satisfies never;
  }
}

function hold(ctx: Reactions, account: string, model: string, until: number): void {
  ctx.pool.hold(account, model, until);
  ctx.leases.wakeAt(until);
}

function fatal(ctx: Reactions, verdict: Extract<Verdict, { kind: "fatal" }>, model: string, account: string): Response {
  const { answers, notifier } = ctx;
  if (verdict.reason === "unknown-model") {
    if (verdict.code !== "1211") {
      const said = quotable(verdict.message);
      return answers.giveUp(400, verdict.code, `Z.AI refused the request (${verdict.code})${said ? `: ${said}` : "."}`);
    }
    const usable = ctx.models(account).filter((m) => m !== model);
    const advice =
      usable.length > 0
        ? `Models account "${account}" can be asked for: ${usable.join(", ")}.`
        : "Check the model id against your plan.";
    return answers.giveUp(
      400,
      "1211",
      `Z.AI does not know the model "${model}" (1211 Unknown Model), although OpenCode lists it: Z.AI has not ` +
        `enabled it for this endpoint yet, or renamed it. ${advice}`,
    );
  }
  notifier.toast(
    "account-disabled",
    "Z.AI flagged usage under its Fair Usage Policy (1313). The plugin does not retry or switch accounts to get " +
      "around it.",
    "error",
  );
  const said = quotable(verdict.message);
  return answers.giveUp(
    403,
    "1313",
    `Z.AI throttled this request under its Fair Usage Policy (1313${said ? `: ${said}` : ""}). Not retried and ` +
      "not moved to another account: doing so deepens the violation. Reduce parallel agents and wait before " +
      "continuing.",
  );
}
