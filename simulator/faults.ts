/** Scripted faults, consumed in order by the first matching requests. */
import { formatBeijingStamp } from "./stamp.js";
import type { Fault, FaultMatch } from "./types.js";

interface Entry {
  fault: Fault;
  remaining: number;
}

export interface FaultTarget {
  key: string;
  account: string;
  model: string;
}

function matches(match: FaultMatch | undefined, target: FaultTarget): boolean {
  if (match === undefined) return true;
  return (
    (match.key === undefined || match.key === target.key) &&
    (match.account === undefined || match.account === target.account) &&
    (match.model === undefined || match.model === target.model)
  );
}

export class FaultQueue {
  readonly #entries: Entry[] = [];

  add(fault: Fault): void {
    const times = fault.times ?? 1;
    if (times > 0) this.#entries.push({ fault, remaining: times });
  }

  /** The first fault matching the request, using up one of its `times`. */
  take(target: FaultTarget): Fault | undefined {
    if (this.#entries.length === 0) return undefined;
    const index = this.#entries.findIndex((entry) => matches(entry.fault.match, target));
    const entry = this.#entries[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#entries.splice(index, 1);
    return entry.fault;
  }

  pending(): Fault[] {
    return this.#entries.map(({ fault, remaining }) => ({ ...fault, times: remaining }));
  }

  clear(): void {
    this.#entries.length = 0;
  }
}

export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
}

const KINDS = new Set([
  "status",
  "http-error",
  "drop",
  "drop-mid-stream",
  "sse-error",
  "finish-reason",
  "echo-key",
  "html",
  "cut-body",
  "truncated-error",
  "line-endings",
]);

/** Default message of an `echo-key` fault: the key and the header whole, and fragments of the key. */
export const ECHO_KEY_MESSAGE =
  "gateway rejected the request: Authorization: {authorization}; key {key} (starts {keyHead}, ends {keyTail}, contains {keyMiddle})";

/**
 * Fills {key}, {authorization}, {keyHead}, {keyTail}, {keyMiddle} (16-character fragments) in a fault message, and
 * {resetIn:N}: the Beijing stamp N seconds after `now` (a 1308 whose reset is near, whenever the fault is used).
 */
export function expandMessage(
  template: string,
  key: string,
  authorization: string | undefined,
  now = Date.now(),
): string {
  if (!template.includes("{")) return template;
  const mid = Math.max(0, Math.floor((key.length - 16) / 2));
  const values: Record<string, string> = {
    key,
    authorization: authorization ?? "",
    keyHead: key.slice(0, 16),
    keyTail: key.slice(-16),
    keyMiddle: key.slice(mid, mid + 16),
  };
  return template
    .replace(/\{(key|authorization|keyHead|keyTail|keyMiddle)\}/g, (_, name: string) => values[name] ?? "")
    .replace(/\{resetIn:(\d+)\}/g, (_, seconds: string) => formatBeijingStamp(now + Number(seconds) * 1000));
}

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new InvalidFaultError(`fault ${what}, got ${JSON.stringify(value)}`);
}

const isString = (v: unknown): boolean => typeof v === "string" && v !== "";
const optional = (v: unknown, test: (v: unknown) => boolean): boolean => v === undefined || test(v);
const isStatus = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 599;
const isHeaders = (v: unknown): boolean =>
  typeof v === "object" && v !== null && Object.values(v).every((h) => typeof h === "string");

/** Checks a fault received as JSON (over HTTP) and returns it typed. */
export function parseFault(value: unknown): Fault {
  check(typeof value === "object" && value !== null, "must be an object", value);
  const f: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (typeof f["code"] === "number") f["code"] = String(f["code"]);
  check(KINDS.has(f["kind"] as string), `kind must be one of ${[...KINDS].join(", ")}`, f["kind"]);
  check(
    optional(f["times"], (v) => Number.isInteger(v) && (v as number) >= 0),
    "times must be an integer >= 0",
    f["times"],
  );
  const match = f["match"];
  check(
    optional(match, (v) => typeof v === "object" && v !== null),
    "match must be an object",
    match,
  );
  if (match !== undefined) {
    for (const field of ["key", "account", "model"]) {
      const v = (match as Record<string, unknown>)[field];
      check(optional(v, isString), `match.${field} must be a string`, v);
    }
  }
  check(optional(f["code"], isString), "code must be a string", f["code"]);
  check(
    optional(f["message"], (v) => typeof v === "string"),
    "message must be a string",
    f["message"],
  );
  check(optional(f["headers"], isHeaders), "headers must map names to strings", f["headers"]);
  switch (f["kind"]) {
    case "status":
      check(isStatus(f["status"]), "status must be an HTTP status", f["status"]);
      break;
    case "http-error":
      check(optional(f["status"], isStatus), "status must be an HTTP status", f["status"]);
      check(isString(f["code"]), "code is required", f["code"]);
      break;
    case "sse-error":
      check(isString(f["code"]), "code is required", f["code"]);
      check(
        optional(f["event"], (v) => typeof v === "boolean"),
        "event must be a boolean",
        f["event"],
      );
      check(
        optional(f["afterChunks"], (v) => Number.isInteger(v) && (v as number) >= 0),
        "afterChunks must be an integer >= 0",
        f["afterChunks"],
      );
      check(
        optional(f["lineEnding"], (v) => v === "lf" || v === "cr" || v === "crlf"),
        "lineEnding must be lf, cr or crlf",
        f["lineEnding"],
      );
      break;
    case "finish-reason":
      check(isString(f["reason"]), "reason is required", f["reason"]);
      break;
    case "echo-key":
    case "html":
      check(optional(f["status"], isStatus), "status must be an HTTP status", f["status"]);
      break;
    case "cut-body":
      check(
        optional(f["fraction"], (v) => typeof v === "number" && v >= 0 && v < 1),
        "fraction must be in [0, 1)",
        f["fraction"],
      );
      break;
    case "truncated-error":
      check(optional(f["status"], isStatus), "status must be an HTTP status", f["status"]);
      check(isString(f["code"]), "code is required", f["code"]);
      check(
        optional(f["bytes"], (v) => Number.isInteger(v) && (v as number) >= 0),
        "bytes must be an integer >= 0",
        f["bytes"],
      );
      check(
        optional(f["reset"], (v) => typeof v === "boolean"),
        "reset must be a boolean",
        f["reset"],
      );
      break;
    case "line-endings":
      check(f["ending"] === "cr" || f["ending"] === "crlf", "ending must be cr or crlf", f["ending"]);
      break;
  }
  return f as unknown as Fault;
}
