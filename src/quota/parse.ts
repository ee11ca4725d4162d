import type { QuotaAnswer, QuotaReading, QuotaWindow, WindowKind } from "./reading.js";

/** Time units Z.AI uses in a row's `unit` (with `number`): 3 = hours, 6 = weeks (observed; 5 = months on old plans). */
const UNIT_HOURS = 3;
const UNIT_WEEKS = 6;
const UNIT_MONTHS = 5;
const BAD_KEY_CODES = new Set(["401", "1000", "1001", "1002", "1003", "1004"]);

/**
 * Reads an answer of `GET {origin}/api/monitor/usage/quota/limit`. Pure and total: every input gives an answer,
 * shapes it does not know give `unknown` (with a short reason for one debug line), never a throw.
 */
export function parseQuotaAnswer(status: number, text: string, at: number): QuotaAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (status === 401) return { kind: "bad-key", code: "401", message: `HTTP 401` };
    const looksHtml = /^\s*</.test(text);
    return { kind: "unknown", why: `HTTP ${status}, ${looksHtml ? "HTML" : "not JSON"} (${text.length} bytes)` };
  }
  if (!isRecord(body))
    return status === 401
      ? { kind: "bad-key", code: "401", message: "HTTP 401" }
      : { kind: "unknown", why: `HTTP ${status}, JSON but not an object` };
  const code = codeOf(body);
  const message =
    textOf(body["msg"]) ??
    textOf(body["message"]) ??
    textOf(isRecord(body["error"]) ? body["error"]["message"] : undefined) ??
    "";
  if (status === 401 || (body["success"] === false && code !== undefined && BAD_KEY_CODES.has(code))) {
    return { kind: "bad-key", code: code ?? "401", message };
  }
  if (status < 200 || status >= 300) return { kind: "unknown", why: `HTTP ${status}${code ? ` code ${code}` : ""}` };
  if (body["success"] === false) return { kind: "unknown", why: `success: false${code ? ` code ${code}` : ""}` };
  const data = body["data"];
  if (!isRecord(data) || !Array.isArray(data["limits"])) return { kind: "unknown", why: "no data.limits array" };

  const reading: QuotaReading = { at };
  const level = textOf(data["level"]) ?? textOf(data["planLevel"]);
  if (level !== undefined) reading.level = level.toLowerCase();
  let ignoredRows = 0;
  for (const row of data["limits"]) {
    const parsed = isRecord(row) ? parseRow(row) : undefined;
    if (parsed === undefined || reading[fieldOf(parsed.kind)] !== undefined) {
      ignoredRows++;
      continue;
    }
    reading[fieldOf(parsed.kind)] = parsed.window;
  }
  if (reading.fiveHour === undefined && reading.weekly === undefined && reading.tools === undefined) {
    return { kind: "unknown", why: `no known rows (${ignoredRows} ignored)` };
  }
  return { kind: "reading", reading, ignoredRows };
}

function fieldOf(kind: WindowKind): "fiveHour" | "weekly" | "tools" {
  return kind === "five-hour" ? "fiveHour" : kind;
}

function parseRow(row: Record<string, unknown>): { kind: WindowKind; window: QuotaWindow } | undefined {
  const type = textOf(row["type"]);
  if (type === undefined) return undefined;
  const kind = kindOf(type, numberOf(row["unit"]), numberOf(row["number"]));
  if (kind === undefined) return undefined;
  const used = numberOf(row["currentValue"]) ?? numberOf(row["used"]);
  const limit = numberOf(row["usage"]) ?? numberOf(row["total"]) ?? numberOf(row["limit"]);
  const remaining = numberOf(row["remaining"]);
  let percentage = numberOf(row["percentage"]);
  if (percentage === undefined && used !== undefined && limit !== undefined && limit > 0)
    percentage = (used / limit) * 100;
  if (percentage === undefined && remaining !== undefined && limit !== undefined && limit > 0)
    percentage = ((limit - remaining) / limit) * 100;
  if (percentage === undefined) return undefined;
  // Some answers give a fraction (0.42) rather than a percentage; a row with used/limit shows which one it is.
  if (
    percentage > 0 &&
    percentage <= 1 &&
    used !== undefined &&
    limit !== undefined &&
    limit > 0 &&
    Math.abs(used / limit - percentage) < 0.01
  ) {
    percentage *= 100;
  }
  // The percentage is often rounded to a whole number; used/limit, when they agree with it, say it more precisely.
  if (used !== undefined && limit !== undefined && limit > 0 && Math.abs((used / limit) * 100 - percentage) < 1)
    percentage = (used / limit) * 100;
  const window: QuotaWindow = { type, percentage: Math.min(100, Math.max(0, percentage)) };
  if (used !== undefined) window.used = used;
  if (limit !== undefined) window.limit = limit;
  if (remaining !== undefined) window.remaining = remaining;
  const resetAt = timeOf(row["nextResetTime"]);
  if (resetAt !== undefined) window.resetAt = resetAt;
  return { kind, window };
}

function kindOf(type: string, unit: number | undefined, number: number | undefined): WindowKind | undefined {
  const t = type.toUpperCase();
  if (t === "TIME_LIMIT") return "tools";
  if (t !== "TOKENS_LIMIT" && t !== "CREDIT_LIMIT") return undefined;
  if (unit === UNIT_HOURS && (number === undefined || number === 5)) return "five-hour";
  if (unit === UNIT_WEEKS || (unit === UNIT_MONTHS && number === undefined)) return "weekly";
  // A usage row without unit/number: older answers had only the 5-hour window.
  if (unit === undefined && number === undefined) return "five-hour";
  return undefined;
}

/** Epoch ms, epoch seconds, or an ISO string; undefined for anything else. */
function timeOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value < 1e12 ? value * 1000 : value;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    if (Number.isFinite(n)) return timeOf(n);
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function codeOf(body: Record<string, unknown>): string | undefined {
  const code = body["code"] ?? (isRecord(body["error"]) ? body["error"]["code"] : undefined);
  return typeof code === "number" || typeof code === "string" ? String(code) : undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function textOf(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
