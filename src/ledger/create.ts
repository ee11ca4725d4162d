import { dirname, join } from "node:path";
import type { Clock } from "../util/clock.js";
import type { SlotLedger } from "./ledger.js";
import { DEFAULT_REDIS_PREFIX, RedisLedger } from "./redis-ledger.js";
import { SharedLedger } from "./shared-ledger.js";
import { ledgerAddress, type LedgerAddress } from "./socket-address.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface LedgerChoice {
  /** `local` (ZAI_LEDGER=local|off, or ZAI_STATE_FILE=off), else `machine`, or `redis` when a URL is configured. */
  kind: "local" | "machine" | "redis";
  address: LedgerAddress;
  redisUrl: string | undefined;
  /** Key prefix in Redis: one namespace per provider. */
  redisPrefix: string;
}

/**
 * What the environment and keys file ask for. `statePath`: the state file (its directory names the socket);
 * each provider has its own ledger (accounts of different providers never share slots).
 */
export function chooseLedger(
  env: Env,
  homedir: string,
  statePath: string | undefined,
  provider: string,
  redisFromFile: string | undefined,
): LedgerChoice {
  const stateDir =
    statePath !== undefined
      ? dirname(statePath)
      : join(env.XDG_STATE_HOME || join(homedir, ".local", "state"), "opencode");
  const address = ledgerAddress(stateDir, provider);
  const wanted = env.ZAI_LEDGER?.trim().toLowerCase();
  const redisUrl = env.ZAI_REDIS_URL?.trim() || redisFromFile;
  const redisPrefix = `${DEFAULT_REDIS_PREFIX}${provider}:`;
  if (wanted === "local" || wanted === "off") return { kind: "local", address, redisUrl: undefined, redisPrefix };
  // ZAI_STATE_FILE=off keeps this process to itself: no shared slots either, unless asked for explicitly.
  if (statePath === undefined && wanted !== "machine" && !redisUrl)
    return { kind: "local", address, redisUrl: undefined, redisPrefix };
  return { kind: redisUrl ? "redis" : "machine", address, redisUrl, redisPrefix };
}

export interface CreateLedgerOptions {
  clock: Clock;
  onWarning: (message: string) => void;
}

/**
 * Builds the chosen ledger. Never throws: what cannot be reached degrades (Redis → machine → per process) with a
 * warning.
 */
export async function createLedger(choice: LedgerChoice, options: CreateLedgerOptions): Promise<SlotLedger> {
  const { clock, onWarning } = options;
  if (choice.kind === "local") return SharedLedger.local(clock);
  const machine = await SharedLedger.machine({ address: choice.address, clock, onWarning });
  if (choice.kind !== "redis" || !choice.redisUrl) return machine;
  const redis = new RedisLedger({
    url: choice.redisUrl,
    prefix: choice.redisPrefix,
    clock,
    fallback: machine,
    onWarning,
  });
  await redis.start();
  return redis;
}
