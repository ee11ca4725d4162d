import type { ApiKey } from "../config/keys.js";
import type { StateIds } from "./ids.js";
import { pruneState } from "./merge.js";
import type { ProviderState } from "./state-schema.js";

/** What `status --reset <target>` clears: everything, or some accounts and keys. */
export type ResetScope = { kind: "all" } | { kind: "some"; accounts: string[]; keyIds: string[] };

/**
 * "all", a key id (that key), or an account (the account and its keys). A name that is both (a key that is its
 * own account) resets both. Undefined when nothing configured has that name.
 */
export function resolveResetScope(target: string, keys: readonly ApiKey[]): ResetScope | undefined {
  if (target === "all") return { kind: "all" };
  const accounts = [...new Set(keys.filter((k) => k.account === target).map((k) => k.account))];
  const keyIds = keys.filter((k) => k.id === target || k.account === target).map((k) => k.id);
  if (accounts.length === 0 && keyIds.length === 0) return undefined;
  return { kind: "some", accounts, keyIds };
}

/**
 * Adds reset markers at `now` and drops what they cover. A process that still holds a dropped entry in memory
 * drops it at its next sync, since the entry was set before the marker.
 */
export function withResetMarkers(state: ProviderState, scope: ResetScope, ids: StateIds, now: number): ProviderState {
  const resets = { ...state.resets, accounts: { ...state.resets.accounts }, keys: { ...state.resets.keys } };
  if (scope.kind === "all") resets.all = now;
  else {
    for (const account of scope.accounts) resets.accounts[ids.storedAccount(account)] = now;
    for (const keyId of scope.keyIds) {
      const fp = ids.fingerprintOf(keyId);
      if (fp !== undefined) resets.keys[fp] = now;
    }
  }
  return pruneState({ ...state, resets }, now);
}

/** `status --reset learned[:<account>[/<model>]]` (account `*` for every account): which learned limits to reset. */
export interface LearnedScope {
  /** Configured account, or undefined for every account in the file. */
  account: string | undefined;
  model: string | undefined;
}

export const LEARNED_PREFIX = "learned";

/**
 * "learned", "learned:personal", "learned:personal/glm-4.7", "learned:*\/glm-4.7". Undefined when the target is not
 * about learned limits; an error message when it names an account that is not configured.
 */
export function parseLearnedTarget(
  target: string,
  keys: readonly ApiKey[],
): LearnedScope | { error: string } | undefined {
  if (target === LEARNED_PREFIX) return { account: undefined, model: undefined };
  if (!target.startsWith(`${LEARNED_PREFIX}:`)) return undefined;
  const rest = target.slice(LEARNED_PREFIX.length + 1);
  const slash = rest.indexOf("/");
  const account = slash === -1 ? rest : rest.slice(0, slash);
  const model = slash === -1 ? undefined : rest.slice(slash + 1) || undefined;
  if (account === "*" || account === "") return { account: undefined, model };
  const known = [...new Set(keys.map((k) => k.account))];
  if (!known.includes(account))
    return { error: `no account named "${account}" (known: ${known.join(", ") || "none configured"})` };
  return { account, model };
}

/**
 * Resets learned limits to where they start (`startOf(model)`, the configured or default maxConcurrency), stamped
 * `now`. Rewriting rather than deleting is what reaches running processes: a merge keeps the most recent entry, so
 * they adopt the start value at their next sync instead of writing their learned one back.
 */
export function withLearnedReset(
  state: ProviderState,
  scope: LearnedScope,
  ids: StateIds,
  startOf: (model: string) => number,
  now: number,
): ProviderState {
  const stored = scope.account === undefined ? undefined : ids.storedAccount(scope.account);
  const limits: ProviderState["limits"] = {};
  for (const [account, models] of Object.entries(state.limits)) {
    const next: ProviderState["limits"][string] = {};
    for (const [model, entry] of Object.entries(models)) {
      const covered =
        (stored === undefined || stored === account) && (scope.model === undefined || scope.model === model);
      next[model] = covered ? { limit: startOf(model), at: now } : entry;
    }
    limits[account] = next;
  }
  return { ...state, limits };
}
