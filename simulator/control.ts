/** The `/_sim/*` HTTP control endpoints, as a pure mapping (method, path, body) -> answer. */
import { UnknownAccountError } from "./accounts.js";
import { SimulatorConfigError, validateUsageWindow } from "./config.js";
import { InvalidFaultError, parseFault } from "./faults.js";
import type { Simulator } from "./types.js";

export const CONTROL_PREFIX = "/_sim";

export type ControlApi = Pick<
  Simulator,
  "setLimit" | "setUsageWindow" | "inject" | "pendingFaults" | "clearFaults" | "stats" | "resetStats"
>;

export interface ControlAnswer {
  status: number;
  body: unknown;
}

const OK: ControlAnswer = { status: 200, body: { ok: true } };

class BadRequest extends Error {
  override readonly name = "BadRequest";
}

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function text(body: unknown, name: string): string {
  const value = field(body, name);
  if (typeof value !== "string" || value === "") throw new BadRequest(`${name} must be a non-empty string`);
  return value;
}

function route(api: ControlApi, method: string, path: string, body: unknown): ControlAnswer {
  switch (`${method} ${path}`) {
    case "GET /health":
      return OK;
    case "GET /stats":
      return { status: 200, body: api.stats() };
    case "POST /reset":
      api.resetStats();
      return OK;
    case "POST /limit": {
      const limit = field(body, "limit");
      if (typeof limit !== "number") throw new BadRequest("limit must be a number");
      api.setLimit(text(body, "account"), text(body, "model"), limit);
      return OK;
    }
    case "POST /usage": {
      const account = text(body, "account");
      const requests = field(body, "requests");
      api.setUsageWindow(account, requests === undefined ? null : validateUsageWindow("usage", body));
      return OK;
    }
    case "GET /faults":
      return { status: 200, body: api.pendingFaults() };
    case "POST /faults":
      api.inject(...(Array.isArray(body) ? body : [body]).map(parseFault));
      return { status: 200, body: { ok: true, pending: api.pendingFaults().length } };
    case "DELETE /faults":
      api.clearFaults();
      return OK;
    default:
      return { status: 404, body: { error: `no control endpoint ${method} ${CONTROL_PREFIX}${path}` } };
  }
}

/** `path` is the part after `/_sim`; `rawBody` the request body ("" when none). */
export function handleControl(api: ControlApi, method: string, path: string, rawBody: string): ControlAnswer {
  try {
    const body: unknown = rawBody.trim() === "" ? undefined : JSON.parse(rawBody);
    return route(api, method, path, body);
  } catch (error) {
    const known =
      error instanceof SyntaxError ||
      error instanceof RangeError ||
      error instanceof BadRequest ||
      error instanceof InvalidFaultError ||
      error instanceof UnknownAccountError ||
      error instanceof SimulatorConfigError;
    if (!known) throw error;
    return { status: error instanceof UnknownAccountError ? 404 : 400, body: { error: error.message } };
  }
}
