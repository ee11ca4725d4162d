import type { KeyPool } from "../pool/key-pool.js";
import { pairKey, splitPair } from "../limits/pair-key.js";
import type { Cooldown } from "../pool/pool-state.js";
import type { Limits } from "../limits/limits.js";
import { provenLevel } from "../limits/adaptive-limit.js";
import type { StateIds } from "./ids.js";
import { emptyProviderState, type ProviderState, type StoredCooldown } from "./state-schema.js";

/** What state sync reads and changes in a running process. */
export type PoolView = Pick<KeyPool, "state" | "accounts" | "keys">;
export type LimitsView = Pick<Limits, "entries" | "adopt">;

/**
 * A process's memory as state-file data. Memory does not record when a cooldown, an unavailable pair or a
 * learned limit was set: an entry equal to the one in `reference` (what the last sync saw) keeps its time,
 * any other entry is stamped `now`. Limits count only when learned or adopted (epoch > 0).
 */
export function snapshotMemory(
  pool: PoolView,
  limits: LimitsView,
  ids: StateIds,
  reference: ProviderState,
  now: number,
): ProviderState {
  const out = emptyProviderState();
  const s = pool.state;
  const stamp = (ref: StoredCooldown | undefined, c: Cooldown): StoredCooldown => ({
    until: c.until,
    reason: c.reason,
    ...(c.code === undefined ? {} : { code: c.code }),
    at: ref !== undefined && ref.until === c.until ? ref.at : now,
  });
  for (const account of pool.accounts) {
    const stored = ids.storedAccount(account);
    const cooling = s.accountCooldowns.get(account);
    if (cooling) out.accountCooldowns[stored] = stamp(reference.accountCooldowns[stored], cooling);
    const disabled = s.disabledAccounts.get(account);
    if (disabled)
      out.disabledAccounts[stored] = { reason: disabled.reason, ...codeField(disabled.code), at: disabled.at };
  }
  for (const key of pool.keys) {
    const fp = ids.fingerprintOf(key.id);
    if (fp === undefined) continue;
    const cooling = s.keyCooldowns.get(key.id);
    if (cooling) out.keyCooldowns[fp] = stamp(reference.keyCooldowns[fp], cooling);
    const disabled = s.disabledKeys.get(key.id);
    if (disabled) out.disabledKeys[fp] = { reason: disabled.reason, ...codeField(disabled.code), at: disabled.at };
  }
  const configured = new Set(pool.accounts);
  for (const [pair, entry] of s.unavailable) {
    const { account, model } = splitPair(pair);
    if (!configured.has(account)) continue;
    const stored = ids.storedAccount(account);
    const ref = reference.unavailable[stored]?.[model];
    const at = ref !== undefined && ref.until === entry.until ? ref.at : now;
    (out.unavailable[stored] ??= {})[model] = {
      until: entry.until,
      code: entry.code,
      wrongEndpoint: entry.wrongEndpoint,
      at,
    };
  }
  for (const { account, model, state } of limits.entries()) {
    if (state.epoch === 0 || !configured.has(account)) continue;
    const stored = ids.storedAccount(account);
    const ref = reference.limits[stored]?.[model];
    // A limit adopted from the file but clamped to this process's ceiling is still the file's entry.
    // The proven level, not a try one higher still under way (a process starting later would take the try as
    // admitted and send that many at once). How long to wait before trying higher travels with it: a process that
    // starts later does not try again at once what others found refused.
    const proven = provenLevel(state);
    const same =
      ref !== undefined && Math.min(ref.limit, state.ceiling) === proven && (ref.probeAfter ?? 0) >= state.probeAfter;
    const entry = same ? ref : { limit: proven, probeAfter: state.probeAfter, at: now };
    (out.limits[stored] ??= {})[model] = entry;
  }
  return out;
}

/** Makes memory match `merged` for every configured key and account. Holds and in-flight state are untouched. */
export function applyToMemory(merged: ProviderState, pool: PoolView, limits: LimitsView, ids: StateIds): void {
  const s = pool.state;
  for (const account of pool.accounts) {
    const stored = ids.storedAccount(account);
    const cooling = merged.accountCooldowns[stored];
    if (cooling) s.accountCooldowns.set(account, { until: cooling.until, reason: cooling.reason, code: cooling.code });
    else s.accountCooldowns.delete(account);
    const disabled = merged.disabledAccounts[stored];
    if (disabled) s.disabledAccounts.set(account, { reason: disabled.reason, code: disabled.code, at: disabled.at });
    else s.disabledAccounts.delete(account);
    const unavailable = merged.unavailable[stored] ?? {};
    for (const pair of [...s.unavailable.keys()]) {
      const { account: owner, model } = splitPair(pair);
      if (owner === account && unavailable[model] === undefined) s.unavailable.delete(pair);
    }
    for (const [model, entry] of Object.entries(unavailable)) {
      s.unavailable.set(pairKey(account, model), {
        until: entry.until,
        code: entry.code,
        wrongEndpoint: entry.wrongEndpoint,
      });
    }
    for (const [model, entry] of Object.entries(merged.limits[stored] ?? {}))
      limits.adopt(account, model, entry.limit, entry.probeAfter);
  }
  for (const key of pool.keys) {
    const fp = ids.fingerprintOf(key.id);
    if (fp === undefined) continue;
    const cooling = merged.keyCooldowns[fp];
    if (cooling) s.keyCooldowns.set(key.id, { until: cooling.until, reason: cooling.reason, code: cooling.code });
    else s.keyCooldowns.delete(key.id);
    const disabled = merged.disabledKeys[fp];
    if (disabled) s.disabledKeys.set(key.id, { reason: disabled.reason, code: disabled.code, at: disabled.at });
    else s.disabledKeys.delete(key.id);
  }
}

function codeField(code: string | undefined): { code?: string } {
  return code === undefined ? {} : { code };
}
