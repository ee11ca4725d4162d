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
