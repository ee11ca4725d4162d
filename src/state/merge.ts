import type {
  ProviderState,
  Resets,
  StoredCooldown,
  StoredDisabled,
  StoredLimit,
  StoredUnavailable,
} from "./state-schema.js";

/**
 * Pure merge rules for the shared state file. Two views of one provider's state (the file and a process's
 * memory) become one: cooldowns keep the later `until`, disabled entries are a union, unavailable pairs keep
 * the later re-check, learned limits keep the most recently learned. Then reset markers drop what was set
 * before them, and expired entries go.
 */

/** A disabled key or account is tried again after this long: keys get replaced, plans renewed. */
export const DISABLED_TTL_MS = 24 * 3_600_000;
/** A learned limit is forgotten after this long: Z.AI changes limits over time. */
export const LIMIT_TTL_MS = 7 * 24 * 3_600_000;
/** Reset markers outlive every entry a running process could still hold from before the reset. */
export const RESET_MARKER_TTL_MS = 8 * 24 * 3_600_000;

type Dict<T> = Record<string, T>;
type Nested<T> = Dict<Dict<T>>;

/**
 * Merges `file` and `memory` at `now`. `base`, when given, is what memory held after the previous merge:
 * an entry memory dropped since then (a model that served again, a pruned cooldown) is dropped from the
 * file too, unless another process has replaced it meanwhile.
 */
export function mergeState(
  file: ProviderState,
  memory: ProviderState,
  now: number,
  base?: ProviderState,
): ProviderState {
  const theirs = base ? withoutDeleted(file, base, memory) : file;
  const resets = mergeResets(theirs.resets, memory.resets);
  const merged: ProviderState = {
    accountCooldowns: mergeDict(theirs.accountCooldowns, memory.accountCooldowns, laterUntil),
    disabledAccounts: mergeDict(theirs.disabledAccounts, memory.disabledAccounts, laterAt),
    disabledKeys: mergeDict(theirs.disabledKeys, memory.disabledKeys, laterAt),
    keyCooldowns: mergeDict(theirs.keyCooldowns, memory.keyCooldowns, laterUntil),
    unavailable: mergeNested(theirs.unavailable, memory.unavailable, laterUntil),
    limits: mergeNested(theirs.limits, memory.limits, laterAt),
    resets,
  };
  return prune(applyResets(merged), now);
}

/** The state without expired entries and old reset markers. */
export function pruneState(state: ProviderState, now: number): ProviderState {
  return prune(applyResets(state), now);
}

/** Drops entries set at or before a reset marker that covers them. Learned limits are not reset. */
export function applyResets(state: ProviderState): ProviderState {
  const { resets } = state;
  const all = resets.all ?? Number.NEGATIVE_INFINITY;
  const accountKept = (id: string, at: number) => at > Math.max(all, resets.accounts[id] ?? Number.NEGATIVE_INFINITY);
  const keyKept = (id: string, at: number) => at > Math.max(all, resets.keys[id] ?? Number.NEGATIVE_INFINITY);
  return {
    ...state,
    accountCooldowns: filterDict(state.accountCooldowns, (e, id) => accountKept(id, e.at)),
    disabledAccounts: filterDict(state.disabledAccounts, (e, id) => accountKept(id, e.at)),
    disabledKeys: filterDict(state.disabledKeys, (e, id) => keyKept(id, e.at)),
    keyCooldowns: filterDict(state.keyCooldowns, (e, id) => keyKept(id, e.at)),
    unavailable: filterNested(state.unavailable, (e, account) => accountKept(account, e.at)),
  };
}

function prune(state: ProviderState, now: number): ProviderState {
  const live = <T extends { until: number }>(e: T) => e.until > now;
  const fresh =
    (ttl: number) =>
    <T extends { at: number }>(e: T) =>
      e.at + ttl > now;
  const marker = fresh(RESET_MARKER_TTL_MS);
  const markers = (d: Dict<number>) => filterDict(d, (at) => marker({ at }));
  const resets: Resets = { accounts: markers(state.resets.accounts), keys: markers(state.resets.keys) };
  if (state.resets.all !== undefined && marker({ at: state.resets.all })) resets.all = state.resets.all;
  return {
    accountCooldowns: filterDict(state.accountCooldowns, live),
    disabledAccounts: filterDict(state.disabledAccounts, fresh(DISABLED_TTL_MS)),
    disabledKeys: filterDict(state.disabledKeys, fresh(DISABLED_TTL_MS)),
    keyCooldowns: filterDict(state.keyCooldowns, live),
    unavailable: filterNested(state.unavailable, live),
    limits: filterNested(state.limits, fresh(LIMIT_TTL_MS)),
    resets,
  };
}

function mergeResets(a: Resets, b: Resets): Resets {
  const out: Resets = {
    accounts: mergeDict(a.accounts, b.accounts, Math.max),
    keys: mergeDict(a.keys, b.keys, Math.max),
  };
  const all = Math.max(a.all ?? Number.NEGATIVE_INFINITY, b.all ?? Number.NEGATIVE_INFINITY);
  if (Number.isFinite(all)) out.all = all;
  return out;
}

/** Ties keep the first argument (the file), so equal views never flip-flop. */
function laterUntil<T extends StoredCooldown | StoredUnavailable>(file: T, memory: T): T {
  return memory.until > file.until ? memory : file;
}

function laterAt<T extends StoredDisabled | StoredLimit>(file: T, memory: T): T {
  return memory.at > file.at ? memory : file;
}

/** `file` without the entries that memory dropped since `base`, where the file still holds base's version. */
function withoutDeleted(file: ProviderState, base: ProviderState, memory: ProviderState): ProviderState {
  const dropDict = <T>(f: Dict<T>, b: Dict<T>, m: Dict<T>) =>
    filterDict(f, (entry, id) => !(own(b, id) && !own(m, id) && sameJson(entry, b[id])));
  const dropNested = <T>(f: Nested<T>, b: Nested<T>, m: Nested<T>) =>
    mapDict(f, (models, account) => dropDict(models, b[account] ?? {}, m[account] ?? {}));
  return {
    ...file,
    accountCooldowns: dropDict(file.accountCooldowns, base.accountCooldowns, memory.accountCooldowns),
    disabledAccounts: dropDict(file.disabledAccounts, base.disabledAccounts, memory.disabledAccounts),
    disabledKeys: dropDict(file.disabledKeys, base.disabledKeys, memory.disabledKeys),
    keyCooldowns: dropDict(file.keyCooldowns, base.keyCooldowns, memory.keyCooldowns),
    unavailable: dropNested(file.unavailable, base.unavailable, memory.unavailable),
    limits: dropNested(file.limits, base.limits, memory.limits),
  };
}

function mergeDict<T>(a: Dict<T>, b: Dict<T>, pick: (a: T, b: T) => T): Dict<T> {
  const out = dict<T>();
  for (const [id, value] of Object.entries(a)) out[id] = value;
  for (const [id, value] of Object.entries(b)) {
    const current = out[id];
    out[id] = current === undefined ? value : pick(current, value);
  }
  return out;
}

function mergeNested<T>(a: Nested<T>, b: Nested<T>, pick: (a: T, b: T) => T): Nested<T> {
  const out = dict<Dict<T>>();
  for (const account of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out[account] = mergeDict(a[account] ?? {}, b[account] ?? {}, pick);
  }
  return out;
}

function filterDict<T>(d: Dict<T>, keep: (value: T, id: string) => boolean): Dict<T> {
  const out = dict<T>();
  for (const [id, value] of Object.entries(d)) if (keep(value, id)) out[id] = value;
  return out;
}

/** Filters inner entries; accounts left empty disappear. */
function filterNested<T>(d: Nested<T>, keep: (value: T, account: string, model: string) => boolean): Nested<T> {
  const out = dict<Dict<T>>();
  for (const [account, models] of Object.entries(d)) {
    const kept = filterDict(models, (value, model) => keep(value, account, model));
    if (Object.keys(kept).length > 0) out[account] = kept;
  }
  return out;
}

function mapDict<T, U>(d: Dict<T>, fn: (value: T, id: string) => U): Dict<U> {
  const out = dict<U>();
  for (const [id, value] of Object.entries(d)) out[id] = fn(value, id);
  return out;
}

/** A null-prototype record: ids read from a file ("__proto__") stay plain keys. */
function dict<T>(): Dict<T> {
  return Object.create(null) as Dict<T>;
}

function own(d: object, id: string): boolean {
  return Object.hasOwn(d, id);
}

/** Deep equality of JSON data, independent of key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted = dict<unknown>();
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
