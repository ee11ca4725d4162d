import { isTemporary, type Blocker, type KeyPool } from "../pool/key-pool.js";
import type { ProviderId } from "../config/schema.js";
import { formatLocalTime, formatWait } from "../util/format.js";

/** When no account can take a request: wait until a moment, or stop because nothing will change. */
export type Outlook =
  | { kind: "wait"; until: number; message: string }
  | {
      kind: "never";
      status: 401 | 403;
      code: "no_usable_keys" | "model_unavailable";
      message: string;
      wrongEndpoint: boolean;
    };

/** The Coding Plan endpoint of each provider: Coding Plan keys work only there. */
export const CODING_ENDPOINTS: Readonly<Record<ProviderId, string>> = {
  "zai-coding-plan": "https://api.z.ai/api/coding/paas/v4",
  "zhipuai-coding-plan": "https://open.bigmodel.cn/api/coding/paas/v4",
};
export const CODING_ENDPOINT = CODING_ENDPOINTS["zai-coding-plan"];

export function codingEndpoint(provider: ProviderId): string {
  return CODING_ENDPOINTS[provider];
}

/** Pure: turns the blockers of every account into what to tell the caller. */
export function outlook(
  blockers: readonly Blocker[],
  model: string,
  now: number,
  endpoint: string = CODING_ENDPOINT,
): Outlook {
  const temporary = blockers.filter(isTemporary);
  if (temporary.length > 0) {
    const until = Math.min(...temporary.map((b) => b.until));
    return { kind: "wait", until, message: `every account is cooling for ${model}: ${describe(blockers, now)}` };
  }
  const unavailable = blockers.filter(
    (b): b is Extract<Blocker, { kind: "model-unavailable" }> => b.kind === "model-unavailable",
  );
  if (unavailable.length > 0) {
    const wrongEndpoint = unavailable.some((b) => b.wrongEndpoint);
    const codes = [...new Set(unavailable.map((b) => b.code))].join("/");
    const hint = wrongEndpoint
      ? ` Z.AI answered ${codes} "Insufficient balance", which from a non-coding endpoint means the wrong door: ` +
        `Coding Plan keys work only on ${endpoint}. Remove the baseURL override or point it there.`
      : ` Z.AI answered ${codes}: the model is not in the plan of ` +
        `${unavailable.length === 1 ? "this account" : "these accounts"}. This is about the plan, not about load, ` +
        "so retrying cannot fix it: pick another model or upgrade the plan.";
    return {
      kind: "never",
      status: 403,
      code: "model_unavailable",
      message: `${model} is not available on any account (${describe(blockers, now)}).${hint}`,
      wrongEndpoint,
    };
  }
  return {
    kind: "never",
    status: 401,
    code: "no_usable_keys",
    message: blockers.length === 0 ? "no API keys are configured" : `no usable key is left: ${describe(blockers, now)}`,
    wrongEndpoint: false,
  };
}

/** "alpha: usage window spent (1308) until 14:32:05 (in 2h 10m); beta: keys disabled (401)". */
export function describe(blockers: readonly Blocker[], now: number): string {
  return blockers.map((b) => `${b.account}: ${describeOne(b, now)}`).join("; ");
}

function describeOne(b: Blocker, now: number): string {
  const until = (t: number) => `until ${formatLocalTime(t, now)} (in ${formatWait(t - now)})`;
  switch (b.kind) {
    case "account-disabled":
      return `disabled (${b.reason})`;
    case "keys-disabled":
      return "every key disabled (rejected as invalid)";
    case "model-unavailable":
      return `model not in plan (${b.code}), checked again at ${formatLocalTime(b.until, now)}`;
    case "account-cooling":
      return `${b.reason}${b.code ? ` (${b.code})` : ""} ${until(b.until)}`;
    case "keys-cooling":
      return `every key cooling down ${until(b.until)}`;
    case "held":
      return `at its concurrency limit, backing off ${until(b.until)}`;
    default:
      return b satisfies never;
  }
}

/** How long until something changes for `model`: 1 s while an account can serve, else the earliest end of a block. */
export function nextChance(pool: KeyPool, model: string, now: number): number {
  if (pool.usableAccounts(model, now).length > 0) return 1000;
  const untils = pool.blockers(model, now).flatMap((b) => ("until" in b ? [b.until - now] : []));
  return Math.max(1000, untils.length > 0 ? Math.min(...untils) : 1000);
}

/** Each account's state for `model`: its blocker, or its slots ("2/4 in flight"), for a queue timeout's message. */
export function busyReport(
  pool: KeyPool,
  slots: (account: string, model: string) => string,
  model: string,
  now: number,
): string {
  return pool.accounts
    .map((a) => {
      const blocker = pool.blocker(a, model, now);
      return blocker ? describe([blocker], now) : `${a}: ${slots(a, model)} in flight`;
    })
    .join("; ");
}
