/**
 * The 2.x classification of a failed HTTP response (packages/ai/src/provider-error.ts `classifyProviderFailure`,
 * called from packages/ai/src/route/executor.ts `statusError`) and its retryability (packages/core/src/session/
 * runner/retry.ts in the older revision, provider-error.ts in the later one). Written from the reference, not copied.
 *
 * 402 is QuotaExceeded in the later revision only; the older one leaves unknown 4xx (402, 405, 418) UnknownProvider.
 * Two revisions of the quota phrases (opencode-v2.md section 4):
 * - "older" (@4933a71b): only "insufficient quota" / "quota exceeded" make a 429 QuotaExceeded.
 * - "later": also "insufficient balance", "usage limit", "package has expired", "plan does not yet include"
 *   (Z.AI reports balance, plan expiry, plan limits and model access on 429), so raw 1113/1308 are not retried.
 */
export type Revision = "older" | "later";

export type ErrorClass =
  | "InvalidRequest"
  | "ContentPolicy"
  | "QuotaExceeded"
  | "Authentication"
  | "RateLimit"
  | "ProviderInternal"
  | "UnknownProvider"
  | "Transport";

export interface HostError {
  cls: ErrorClass;
  message: string;
  status: number | undefined;
  retryAfterMs: number | undefined;
  /** `x-should-retry` of the response, when present. */
  shouldRetry: boolean | undefined;
}

const QUOTA_CODES = new Set(["insufficient_quota", "usage_not_included", "billing_error"]);
const SERVER_CODES = new Set([
  "api_error",
  "internal_error",
  "overloaded_error",
  "server_error",
  "server_is_overloaded",
]);
const RATE_LIMIT_TEXT = /rate increased too quickly|rate[-_\s]?limit|too[_\s]?many[_\s]?requests/i;
const QUOTA_TEXT: Record<Revision, RegExp> = {
  older: /insufficient[-_\s]?quota|quota[-_\s]?exceeded/i,
  later:
    /insufficient[-_\s]?quota|quota[-_\s]?exceeded|insufficient balance|usage limit|package has expired|plan does not yet include/i,
};
const CONTENT_POLICY_TEXT = /content[-_\s]?policy|content_filter|safety/i;
const PAYLOAD_TEXT = /request_too_large|request entity too large|payload too large|request too large/i;

/** executor.ts `retryAfterMs`: `retry-after-ms`, else `retry-after` seconds or HTTP date. */
export function retryAfterOf(headers: Headers, now: number): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** executor.ts `providerMessage`: error.message, else message, else a generic line. */
export function providerMessage(status: number, body: string): string {
  try {
    const json = JSON.parse(body) as { message?: unknown; error?: { message?: unknown } };
    for (const m of [json.error?.message, json.message]) if (typeof m === "string" && m.trim()) return m;
  } catch {
    // not JSON
  }
  return `Provider request failed with HTTP ${status}`;
}

function codesOf(body: string): string[] {
  try {
    const json = JSON.parse(body) as { code?: unknown; error?: { code?: unknown; type?: unknown } };
    return [json.code, json.error?.code, json.error?.type]
      .filter((c): c is string => typeof c === "string")
      .map((c) => c.toLowerCase());
  } catch {
    return [];
  }
}

export function classifyResponse(
  revision: Revision,
  status: number,
  headers: Headers,
  body: string,
  now: number,
): HostError {
  const message = providerMessage(status, body);
  const text = body || message;
  const codes = codesOf(body);
  const header = headers.get("x-should-retry");
  const base = {
    message,
    status,
    retryAfterMs: retryAfterOf(headers, now),
    shouldRetry: header === "true" ? true : header === "false" ? false : undefined,
  };
  const cls = ((): ErrorClass => {
    if (status === 413 || PAYLOAD_TEXT.test(text)) return "InvalidRequest";
    if (CONTENT_POLICY_TEXT.test(text)) return "ContentPolicy";
    if (
      codes.some((c) => QUOTA_CODES.has(c)) ||
      (status === 429 && QUOTA_TEXT[revision].test(text)) ||
      (revision === "later" && status === 402)
    )
      return "QuotaExceeded";
    if (status === 401 || status === 403) return "Authentication";
    if (codes.some((c) => c.includes("rate_limit") || c === "too_many_requests") || RATE_LIMIT_TEXT.test(text))
      return "RateLimit";
    if (codes.some((c) => SERVER_CODES.has(c) || c.includes("exhausted") || c.includes("unavailable")))
      return "ProviderInternal";
    if (status === 429) return "RateLimit";
    if (status === 408 || status === 409 || status >= 500) return "ProviderInternal";
    if (status === 400 || status === 404 || status === 422) return "InvalidRequest";
    return "UnknownProvider";
  })();
  return { cls, ...base };
}

/** `isRetryable`: the response header decides first; else by class. */
export function isRetryable(error: HostError): boolean {
  if (error.shouldRetry !== undefined) return error.shouldRetry;
  return (
    error.cls === "RateLimit" ||
    error.cls === "ProviderInternal" ||
    error.cls === "UnknownProvider" ||
    error.cls === "Transport"
  );
}
