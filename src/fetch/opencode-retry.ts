/**
 * OpenCode 1.18 retries an error when its message or response body matches any of these, whatever the HTTP
 * status (read from the 1.18.33 binary; see docs/design.md). A final answer that must not be retried has to avoid
 * them, so upstream text is only quoted in final answers when it matches none.
 */
export const OPENCODE_RETRY_PATTERNS: readonly RegExp[] = [
  /429|500|502|503|504|524/i,
  /rate increased too quickly|rate limit|rate-limit|rate_limit|too many requests/i,
  /overloaded|service unavailable|service_unavailable|service-unavailable|internal error|internal_error/i,
  /internal server error|server error|server_error|server-error|provider returned error|provider_returned_error/i,
  /provider-returned-error/i,
  /terminated|fetch failed|failed to fetch|network[-_\s]error|upstream connect|connection error|connection refused/i,
  /connection lost|socket connection was closed|socket hang up|reset before headers|getaddrinfo|enotfound|eai_again/i,
  /econnrefused|econnreset|etimedout/i,
  /^timeout$|\b(?:request|response|connection|network|stream|read) (?:timeout|timed out|time out)\b/i,
  /try your request again|retry your request|resource exhausted|resource_exhausted/i,
  /\btry again (?:later|in\b)|\b(?:currently|temporarily) at capacity\b/i,
];

export function looksRetryableToOpenCode(text: string): boolean {
  return OPENCODE_RETRY_PATTERNS.some((pattern) => pattern.test(text));
}

/** Upstream text to quote in a final answer, or "" when quoting it would make OpenCode retry. */
export function quotable(upstream: string): string {
  const trimmed = upstream.trim().slice(0, 300);
  return trimmed && !looksRetryableToOpenCode(trimmed) ? trimmed : "";
}
