import { parseResetTime } from "./reset-time.js";
import type { Verdict } from "./verdict.js";

/** An upstream answer reduced to what the classifier needs. */
export interface Answer {
  status: number;
  code: string | undefined;
  message: string;
  /** From `retry-after-ms` / `retry-after`, already parsed. */
  retryAfterMs: number | undefined;
  /** The URL that was called: a 1113 off the coding endpoint is a wrong door, not a plan problem. */
  url: string;
}

type CodeRule = (answer: Answer & { code: string }) => Verdict;

const keyInvalid: CodeRule = ({ code, message }) => ({ kind: "key-invalid", code, message });
const accountUnusable: CodeRule = ({ code, message }) => ({ kind: "account-unusable", code, message });
const transient =
  (accountWide: boolean): CodeRule =>
  ({ code, message, retryAfterMs }) => ({ kind: "transient", code, message, retryAfterMs, accountWide });
const usageWindow: CodeRule = ({ code, message }) => ({
  kind: "usage-window",
  code,
  message,
  resetAt: parseResetTime(message),
});
const modelUnavailable: CodeRule = ({ code, message, url }) => ({
  kind: "model-unavailable",
  code,
  message,
  wrongEndpoint: code === "1113" && !isCodingEndpoint(url),
});

/**
 * Business code → reaction: the one table that says what happens on each Z.AI code.
 * The README table "How it works" and docs/design.md explain each row.
 */
export const CODE_RULES: Readonly<Record<string, CodeRule>> = {
  "1000": keyInvalid,
  "1001": keyInvalid,
  "1002": keyInvalid,
  "1003": keyInvalid,
  "1004": keyInvalid,
  "1110": accountUnusable,
  "1111": accountUnusable,
  "1112": accountUnusable,
  "1120": accountUnusable,
  "1121": accountUnusable,
  "1309": accountUnusable,
  "1113": modelUnavailable,
  "1311": modelUnavailable,
  "1211": ({ code, message }) => ({ kind: "fatal", code, message, reason: "unknown-model" }),
  "1313": ({ code, message }) => ({ kind: "fatal", code, message, reason: "fair-use" }),
  "1302": ({ code, message }) => ({ kind: "concurrency", code, message }),
  "1303": transient(true),
  "1305": transient(false),
  "1234": transient(false),
  "1308": usageWindow,
  "1310": usageWindow,
};

/** Pure: decides what an upstream answer means. Status-only rules apply when the code is unknown or absent. */
export function classify(answer: Answer): Verdict {
  if (answer.code !== undefined) {
    const rule = CODE_RULES[answer.code];
    if (rule) return rule({ ...answer, code: answer.code });
  }
  const { status, code, message, retryAfterMs } = answer;
  if (status >= 200 && status < 400) return { kind: "ok" };
  if (status === 401) return { kind: "key-invalid", code, message };
  if (status === 429) return { kind: "key-rate-limited", code, message, retryAfterMs };
  if (status >= 500) return { kind: "transient", code, message, retryAfterMs, accountWide: false };
  return { kind: "pass" };
}

/** A network failure (connection refused, reset, dropped mid-headers) reads as a transient error. */
export function classifyNetworkError(error: unknown): Verdict {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  const detail = cause?.code ?? (error instanceof Error ? error.message : String(error));
  return {
    kind: "transient",
    code: undefined,
    message: `network error (${detail})`,
    retryAfterMs: undefined,
    accountWide: false,
  };
}

export function isCodingEndpoint(url: string): boolean {
  return /\/coding\/paas\//.test(url) || /\/api\/anthropic/.test(url);
}
