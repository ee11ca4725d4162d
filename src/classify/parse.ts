/** Finds Z.AI's business code and message wherever an error body puts them. */

export interface UpstreamError {
  /** Business code as a string ("1302"), or undefined when the body names none. */
  code: string | undefined;
  message: string;
}

/**
 * Accepts every shape seen in the wild:
 * - `{"error":{"code":"1302","message":"..."}}` (code as string or number)
 * - `{"code":1302,"msg":"..."}` / `{"code":1302,"message":"..."}` (top level, maybe with request_id)
 * - Anthropic: `{"type":"error","error":{"type":"rate_limit_error","message":"[1308][text][request_id]"}}`
 * - plain text holding `[1302]` or `"code":"1302"`.
 */
export function parseUpstreamError(text: string): UpstreamError {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      return fromJson(JSON.parse(trimmed) as unknown);
    } catch {
      // fall through to text matching
    }
  }
  return { code: codeInText(trimmed), message: trimmed.slice(0, 500) };
}

/** The error object of one SSE `data:` payload, or undefined when the payload is not an error. */
export function parseSseError(data: string): UpstreamError | undefined {
  const trimmed = data.trim();
  if (!trimmed.startsWith("{") || !trimmed.includes("error")) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isRecord(json)) return undefined;
  if (json.error === undefined && json.type !== "error") return undefined;
  if (json.error === null) return undefined;
  return fromJson(json);
}

function fromJson(json: unknown): UpstreamError {
  if (!isRecord(json)) return { code: undefined, message: String(json).slice(0, 500) };
  const inner = isRecord(json.error) ? json.error : undefined;
  const message =
    firstString(inner?.message, json.msg, json.message, typeof json.error === "string" ? json.error : undefined) ?? "";
  const code = codeOf(inner?.code) ?? codeOf(json.code) ?? codeInText(message);
  return { code, message: message.slice(0, 500) };
}

function codeOf(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value === "string" && /^\d{3,5}$/.test(value.trim())) return value.trim();
  return undefined;
}

function codeInText(text: string): string | undefined {
  const bracket = /\[(1\d{3})\]/.exec(text);
  if (bracket) return bracket[1];
  const quoted = /"code"\s*:\s*"?(1\d{3})"?/.exec(text);
  return quoted?.[1];
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === "string" && value.length > 0) return value;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
