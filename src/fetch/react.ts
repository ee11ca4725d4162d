import type { Verdict } from "../classify/verdict.js";
import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import type { Notifier } from "../notify/notifier.js";
import type { KeyPool } from "../pool/key-pool.js";
import { backoffDelay } from "../retry/backoff.js";
import type { Leases } from "../scheduler/leases.js";
import type { Clock } from "../util/clock.js";
import { formatLocalTime, formatWait } from "../util/format.js";
import type { Random } from "../util/random.js";
import type { Answers } from "./answers.js";
import { quotable } from "./opencode-retry.js";

/** What a failed attempt may change: the key pool, the leases's wake-ups, the user's notifications. */
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

/** 1308/1310 without a readable reset stamp: look again after this long. */
const UNSTATED_RESET_MS = 15 * 60_000;
/** A reset stamp already past (clock skew, drift): look again after this long. */
const STALE_RESET_MS = 60_000;

/**
 * What a failed attempt changes in the pool, and whether to retry: the one place that says what happens on each
 * verdict (the classifier in classify.ts says which verdict an answer is).
 */
export function react(ctx: Reactions, failure: Failure): Step {
  const { pool, leases, notifier, settings, clock, random } = ctx;
  const { verdict, key, model, attempt, avoid, limitLowered } = failure;
  const retry = settings.retry;
  const now = clock.now();
  const account = key.account;
  const backoff = () => backoffDelay(attempt, retry, random);
  switch (verdict.kind) {
    case "ok":
    case "pass":
      return { kind: "retry", delayMs: 0 };
    case "key-invalid":
      pool.disableKey(key.id, `rejected (${verdict.code ?? "401"})`, verdict.code, now);
      notifier.toast(
        "key-disabled",
        `Key "${key.label}" was rejected by Z.AI (${verdict.code ?? "401"}: ${verdict.message || "invalid"}); it stays disabled for 24 h in every OpenCode process on this machine. After fixing it: \`npx oc-zai-multi-account status --reset ${key.id}\`.`,
      );
      return { kind: "retry", delayMs: 0 };
    case "account-unusable":
      pool.disableAccount(account, `${verdict.code}: ${verdict.message}`, verdict.code, now);
      notifier.toast(
        "account-disabled",
        `Account "${account}" is unusable (${verdict.code}: ${verdict.message}); its keys stay disabled for 24 h in every OpenCode process on this machine. After fixing it: \`npx oc-zai-multi-account status --reset ${account}\`.`,
        "error",
      );
      return { kind: "retry", delayMs: 0 };
    case "concurrency": {
      // The lowered limit already keeps this account below what Z.AI refused. When it was not lowered (already
      // at what is in flight, or someone else is using the account), hold the account back for a moment.
      if (!limitLowered) {
        const until = now + Math.max(100, backoff());
        pool.hold(account, model, until);
        leases.wakeAt(until);
      }
      return { kind: "retry", delayMs: 0 };
    }
    case "transient": {
      avoid.add(account);
      const delay = verdict.retryAfterMs ?? backoff();
      if (verdict.accountWide) {
        pool.hold(account, model, now + delay);
        leases.wakeAt(now + delay);
      }
      const elsewhere = pool.usableAccounts(model, now).some((a) => !avoid.has(a) && leases.hasFreeSlot(a, model));
      return { kind: "retry", delayMs: elsewhere ? 0 : delay };
    }
    case "key-rate-limited": {
      const until = now + (verdict.retryAfterMs ?? settings.rotation.cooldownMs);
      pool.coolKey(key.id, { until, reason: "rate limited (429)", code: verdict.code });
      leases.wakeAt(until);
      return { kind: "retry", delayMs: 0 };
    }
    case "usage-window": {
      const stated = verdict.resetAt;
      const until = stated === undefined ? now + UNSTATED_RESET_MS : stated > now ? stated : now + STALE_RESET_MS;
      const what = verdict.code === "1310" ? "weekly/monthly limit" : "5-hour usage window";
      pool.coolAccount(account, { until, reason: `${what} spent`, code: verdict.code });
      leases.wakeAt(until);
      notifier.toast("usage-window", `Account "${account}" used up its ${what} (${verdict.code}); it resets at ${formatLocalTime(until, now)} (in ${formatWait(until - now)}). Other accounts serve meanwhile.`);
      return { kind: "retry", delayMs: 0 };
    }
    case "model-unavailable":
      pool.markUnavailable(account, model, verdict.code, verdict.wrongEndpoint, now + settings.unavailableRecheckMs);
      notifier.toast(
        "model-unavailable",
        verdict.wrongEndpoint
          ? `Z.AI answered ${verdict.code} "Insufficient balance" on ${failure.url}: Coding Plan keys need the coding endpoint ${ctx.endpoint}.`
          : `${model} is not in the plan of account "${account}" (${verdict.code}); other accounts will serve it.`,
      );
      return { kind: "retry", delayMs: 0 };
    case "fatal":
      return { kind: "return", response: fatal(ctx, verdict, model, account) };
    default:
      return verdict satisfies never;
  }
}

function fatal(ctx: Reactions, verdict: Extract<Verdict, { kind: "fatal" }>, model: string, account: string): Response {
  const { answers, notifier } = ctx;
  if (verdict.reason === "unknown-model") {
    if (verdict.code !== "1211") {
      const said = quotable(verdict.message);
      return answers.giveUp(400, verdict.code, `Z.AI refused the request (${verdict.code})${said ? `: ${said}` : "."}`);
    }
    const usable = ctx.models(account).filter((m) => m !== model);
    const advice = usable.length > 0 ? `Models account "${account}" can be asked for: ${usable.join(", ")}.` : "Check the model id against your plan.";
    return answers.giveUp(400, "1211", `Z.AI does not know the model "${model}" (1211 Unknown Model), although OpenCode lists it: Z.AI has not enabled it for this endpoint yet, or renamed it. ${advice}`);
  }
  notifier.toast("account-disabled", `Z.AI flagged usage under its Fair Usage Policy (1313). The plugin does not retry or switch accounts to get around it.`, "error");
  const said = quotable(verdict.message);
  return answers.giveUp(403, "1313", `Z.AI throttled this request under its Fair Usage Policy (1313${said ? `: ${said}` : ""}). Not retried and not moved to another account: doing so deepens the violation. Reduce parallel agents and wait before continuing.`);
}
