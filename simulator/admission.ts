/**
 * Admission of a chat-completion request, in Z.AI's order:
 * auth (401) → expired (1309) → unknown model (1211) → unavailable (1113) → usage window (1308) → concurrency (1302).
 */
import { countUsage, exhaustedUntil, limitFor } from "./accounts.js";
import type { AccountRegistry, AccountState } from "./accounts.js";
import type { ConcurrencyTracker } from "./concurrency.js";
import { messageFor } from "./responses.js";

export interface Rejection {
  kind: "reject";
  status: number;
  code: string;
  message: string;
}

export interface Admitted {
  kind: "admit";
  account: AccountState;
  model: string;
}

export interface AdmissionContext {
  registry: AccountRegistry;
  tracker: ConcurrencyTracker;
  revokedKeys: ReadonlySet<string>;
  models: ReadonlySet<string>;
  unavailableModels: ReadonlySet<string>;
  now: () => number;
}

export interface AdmissionRequest {
  key: string;
  /** undefined when the body is not JSON or has no string `model`. */
  model: string | undefined;
}

function reject(status: number, code: string, message = messageFor(code)): Rejection {
  return { kind: "reject", status, code, message };
}

/** The account behind a key, or the 401 answer. */
export function authenticate(ctx: AdmissionContext, key: string): AccountState | Rejection {
  if (key === "") return reject(401, "1000", "Authentication parameter not received in Header");
  if (ctx.revokedKeys.has(key)) return reject(401, "1001");
  return ctx.registry.forKey(key) ?? reject(401, "1000");
}

/** Decides and, when admitted, takes the concurrency slot and counts the request against the usage window. */
export function admit(ctx: AdmissionContext, request: AdmissionRequest): Admitted | Rejection {
  const account = authenticate(ctx, request.key);
  if ("kind" in account) return account;
  if (account.expired) return reject(429, "1309");
  const model = request.model;
  if (model === undefined) return reject(400, "1210");
  if (!ctx.models.has(model)) return reject(400, "1211");
  if (ctx.unavailableModels.has(model) || account.unavailableModels.has(model)) return reject(429, "1113");
  const stamp = exhaustedUntil(account, ctx.now());
  if (stamp !== null) return reject(429, "1308", messageFor("1308", stamp));
  if (!ctx.tracker.tryAcquire(account.id, model, limitFor(account, model))) return reject(429, "1302");
  countUsage(account);
  return { kind: "admit", account, model };
}

/** The general pay-as-you-go endpoint: every valid coding key gets 1113 (the "wrong door"). */
export function admitGeneral(ctx: AdmissionContext, key: string): Rejection {
  const account = authenticate(ctx, key);
  return "kind" in account ? account : reject(429, "1113");
}
