/** Validates a SimulatorConfig and fills in defaults. Error messages name the option and echo the bad value. */
import type { SimulatorAccount, SimulatorConfig, UsageWindow } from "./types.js";

/** What OpenCode 1.18.33 lists for zai-coding-plan, then older models some plans still serve. */
export const DEFAULT_MODELS: readonly string[] = Object.freeze([
  "glm-4.7",
  "glm-5-turbo",
  "glm-5.2",
  "glm-5.2-highspeed",
  "glm-5.3",
  "glm-5.3-flash",
  "glm-5.3-highspeed",
  "glm-5",
  "glm-5.1",
  "glm-4.7-flash",
  "glm-4.6",
  "glm-4.5",
  "glm-4.5-air",
  "glm-4.5-flash",
]);

export const DEFAULT_LIMIT = 2;

export interface Timing {
  latencyMs: number;
  chunks: number;
  /** Delay between successive frames after the first. */
  gapMs: number;
  /** Added to the first frame's delay per 1,000 prompt tokens not found in the account's prompt cache. */
  prefillMsPer1kTokens?: number;
}

export interface ResolvedConfig {
  host: string;
  port: number;
  accounts: SimulatorAccount[];
  revokedKeys: Set<string>;
  models: string[];
  unavailableModels: Set<string>;
  timing: Timing;
  now: () => number;
}

export class SimulatorConfigError extends Error {
  override readonly name = "SimulatorConfigError";
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function fail(option: string, expected: string, value: unknown): never {
  throw new SimulatorConfigError(`${option} must be ${expected}, got ${show(value)}`);
}

function count(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(option, "a finite number >= 0", value);
  }
  return value;
}

function stringList(option: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(option, "an array of strings", value);
  return value.map((item, i) => {
    if (typeof item !== "string" || item === "") fail(`${option}[${i}]`, "a non-empty string", item);
    return item;
  });
}

export function validateUsageWindow(option: string, value: unknown): UsageWindow {
  if (typeof value !== "object" || value === null) fail(option, "an object { requests, resetAt? }", value);
  const { requests, resetAt } = value as Record<string, unknown>;
  const window: UsageWindow = { requests: count(`${option}.requests`, requests, Number.NaN) };
  if (Number.isNaN(window.requests)) fail(`${option}.requests`, "a number >= 0", requests);
  if (resetAt !== undefined) {
    if (typeof resetAt !== "number" && typeof resetAt !== "string") {
      fail(`${option}.resetAt`, "epoch ms or a stamp string", resetAt);
    }
    window.resetAt = resetAt;
  }
  return window;
}

function validateAccount(value: unknown, i: number): SimulatorAccount {
  const option = `accounts[${i}]`;
  if (typeof value !== "object" || value === null) fail(option, "an object", value);
  const raw = value as Record<string, unknown>;
  if (typeof raw["id"] !== "string" || raw["id"] === "") fail(`${option}.id`, "a non-empty string", raw["id"]);
  const keys = stringList(`${option}.keys`, raw["keys"]);
  if (keys.length === 0) fail(`${option}.keys`, "a non-empty array of strings", raw["keys"]);
  const limits: Record<string, number> = {};
  const rawLimits = raw["limits"] ?? {};
  if (typeof rawLimits !== "object" || rawLimits === null) fail(`${option}.limits`, "an object", rawLimits);
  for (const [model, limit] of Object.entries(rawLimits)) {
    limits[model] = count(`${option}.limits.${model}`, limit, 0);
  }
  const account: SimulatorAccount = {
    id: raw["id"],
    keys,
    limits,
    defaultLimit: count(`${option}.defaultLimit`, raw["defaultLimit"], DEFAULT_LIMIT),
    unavailableModels: stringList(`${option}.unavailableModels`, raw["unavailableModels"]),
    expired: raw["expired"] === true,
  };
  if (raw["usageWindow"] !== undefined) {
    account.usageWindow = validateUsageWindow(`${option}.usageWindow`, raw["usageWindow"]);
  }
  return account;
}

export function resolveConfig(config: SimulatorConfig): ResolvedConfig {
  if (typeof config !== "object" || config === null) fail("config", "an object", config);
  if (!Array.isArray(config.accounts)) fail("accounts", "an array", config.accounts);
  const accounts = config.accounts.map(validateAccount);
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  for (const account of accounts) {
    if (seenIds.has(account.id)) fail("accounts[].id", "unique", account.id);
    seenIds.add(account.id);
    for (const key of account.keys) {
      if (seenKeys.has(key)) fail("accounts[].keys", "unique across accounts", key);
      seenKeys.add(key);
    }
  }
  const host = config.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") fail("host", "a non-empty string", host);
  const port = count("port", config.port, 0);
  const chunks = Math.floor(count("chunks", config.chunks, 3));
  const durationMs = config.durationMs === undefined ? undefined : count("durationMs", config.durationMs, 0);
  const models = config.models === undefined ? [...DEFAULT_MODELS] : stringList("models", config.models);
  return {
    host,
    port,
    accounts,
    revokedKeys: new Set(stringList("revokedKeys", config.revokedKeys)),
    models,
    unavailableModels: new Set(stringList("unavailableModels", config.unavailableModels)),
    timing: {
      latencyMs: count("latencyMs", config.latencyMs, 0),
      chunks,
      gapMs:
        durationMs === undefined ? count("chunkDelayMs", config.chunkDelayMs, 0) : durationMs / Math.max(chunks, 1),
      prefillMsPer1kTokens: count("prefillMsPer1kTokens", config.prefillMsPer1kTokens, 0),
    },
    now: config.now ?? Date.now,
  };
}
