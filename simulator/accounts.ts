/** Accounts of one simulator instance: key lookup, per-model caps, plan restrictions, usage windows. */
import { resetStamp, formatBeijingStamp } from "./stamp.js";
import type { SimulatorAccount, UsageWindow } from "./types.js";

const HOUR_MS = 60 * 60 * 1000;

interface UsageState {
  window: UsageWindow;
  used: number;
  /** Fixed when the window is first found exhausted (default resetAt). */
  stamp: string | null;
}

export interface AccountState {
  readonly id: string;
  readonly expired: boolean;
  readonly unavailableModels: ReadonlySet<string>;
  readonly limits: Map<string, number>;
  readonly defaultLimit: number;
  usage: UsageState | null;
}

export class UnknownAccountError extends Error {
  override readonly name = "UnknownAccountError";
  constructor(readonly account: string) {
    super(`unknown account ${JSON.stringify(account)}`);
  }
}

export class AccountRegistry {
  readonly #byId = new Map<string, AccountState>();
  readonly #byKey = new Map<string, AccountState>();

  constructor(accounts: readonly SimulatorAccount[]) {
    for (const account of accounts) {
      const state: AccountState = {
        id: account.id,
        expired: account.expired === true,
        unavailableModels: new Set(account.unavailableModels ?? []),
        limits: new Map(Object.entries(account.limits ?? {})),
        defaultLimit: account.defaultLimit ?? 2,
        usage: account.usageWindow === undefined ? null : { window: account.usageWindow, used: 0, stamp: null },
      };
      this.#byId.set(account.id, state);
      for (const key of account.keys) this.#byKey.set(key, state);
    }
  }

  forKey(key: string): AccountState | undefined {
    return this.#byKey.get(key);
  }

  get(id: string): AccountState {
    const state = this.#byId.get(id);
    if (state === undefined) throw new UnknownAccountError(id);
    return state;
  }

  setLimit(id: string, model: string, limit: number): void {
    if (!Number.isFinite(limit) || limit < 0) throw new RangeError(`limit must be a number >= 0, got ${limit}`);
    this.get(id).limits.set(model, limit);
  }

  setUsageWindow(id: string, window: UsageWindow | null): void {
    this.get(id).usage = window === null ? null : { window, used: 0, stamp: null };
  }
}

export function limitFor(account: AccountState, model: string): number {
  return account.limits.get(model) ?? account.defaultLimit;
}

/** The reset stamp when the account's usage window is spent, else null. */
export function exhaustedUntil(account: AccountState, now: number): string | null {
  const usage = account.usage;
  if (usage === null || usage.used < usage.window.requests) return null;
  if (usage.stamp === null) {
    const resetAt = usage.window.resetAt;
    usage.stamp = resetAt === undefined ? formatBeijingStamp(now + HOUR_MS) : resetStamp(resetAt);
  }
  return usage.stamp;
}

export function countUsage(account: AccountState): void {
  if (account.usage !== null) account.usage.used += 1;
}
