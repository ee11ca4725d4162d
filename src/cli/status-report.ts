import type { ApiKey, KeySource } from "../config/keys.js";
import type { StateIds } from "../state/ids.js";
import { DISABLED_TTL_MS } from "../state/merge.js";
import type { ProviderState, StoredCooldown, StoredDisabled } from "../state/state-schema.js";
import { formatLocalTime, formatWait } from "../util/format.js";

export interface CooldownView {
  until: string;
  reason: string;
  code: string | undefined;
}
export interface DisabledView {
  reason: string;
  code: string | undefined;
  since: string;
  /** When the plugin tries it again (disabled entries expire). */
  recheckAt: string;
}
export interface KeyStatus {
  id: string;
  label: string;
  usable: boolean;
  why: string | undefined;
  cooling: CooldownView | undefined;
  disabled: DisabledView | undefined;
}
export interface AccountStatus {
  account: string;
  usable: boolean;
  why: string | undefined;
  cooling: CooldownView | undefined;
  disabled: DisabledView | undefined;
  keys: KeyStatus[];
  limits: Array<{ model: string; limit: number; start: number; learnedAt: string }>;
  unavailable: Array<{ model: string; code: string; wrongEndpoint: boolean; until: string; why: string }>;
}

export interface StatusInput {
  keys: readonly ApiKey[];
  /** The provider's section of the state file, already pruned at `now`. */
  state: ProviderState;
  ids: StateIds;
  now: number;
  /** Where a model's limit starts (configured or default maxConcurrency). */
  startOf: (model: string) => number;
}

/** Pure: per account and key, usable or not and why. Names keys by id and label only. */
export function accountStatuses({ keys, state, ids, now, startOf }: StatusInput): AccountStatus[] {
  const accounts = [...new Set(keys.map((k) => k.account))];
  return accounts.map((account) => {
    const stored = ids.storedAccount(account);
    const keyStatuses = keys.filter((k) => k.account === account).map((k) => keyStatus(k, state, ids, now));
    const cooling = state.accountCooldowns[stored];
    const disabled = state.disabledAccounts[stored];
    const usableKeys = keyStatuses.filter((k) => k.disabled === undefined);
    let why: string | undefined;
    if (disabled) why = disabledText(disabled, now);
    else if (usableKeys.length === 0) why = "all keys disabled";
    else if (cooling) why = coolingText(cooling, now);
    else if (usableKeys.every((k) => k.cooling !== undefined)) {
      const first = Math.min(...usableKeys.map((k) => Date.parse(k.cooling?.until ?? "")));
      why = `all keys cooling until ${when(first, now)}`;
    }
    const unavailable = Object.entries(state.unavailable[stored] ?? {}).map(([model, e]) => ({
      model,
      code: e.code,
      wrongEndpoint: e.wrongEndpoint,
      until: iso(e.until),
      why: `${e.wrongEndpoint ? "wrong endpoint" : "not in the plan"} (${e.code}), re-checked ${when(e.until, now)}`,
    }));
    const limits = Object.entries(state.limits[stored] ?? {}).map(([model, e]) => ({
      model,
      limit: e.limit,
      start: startOf(model),
      learnedAt: iso(e.at),
    }));
    return {
      account,
      usable: why === undefined,
      why,
      cooling: cooling ? coolingView(cooling) : undefined,
      disabled: disabled ? disabledView(disabled) : undefined,
      keys: keyStatuses,
      limits,
      unavailable,
    };
  });
}

function keyStatus(key: ApiKey, state: ProviderState, ids: StateIds, now: number): KeyStatus {
  const fp = ids.fingerprintOf(key.id) ?? "";
  const cooling = state.keyCooldowns[fp];
  const disabled = state.disabledKeys[fp];
  const why = disabled ? disabledText(disabled, now) : cooling ? coolingText(cooling, now) : undefined;
  return {
    id: key.id,
    label: key.label,
    usable: why === undefined,
    why,
    cooling: cooling ? coolingView(cooling) : undefined,
    disabled: disabled ? disabledView(disabled) : undefined,
  };
}

/** Entries in the state file for keys or accounts not configured now: they do not apply. */
export function ignoredEntries(state: ProviderState, ids: StateIds): number {
  const byKey = [...Object.keys(state.disabledKeys), ...Object.keys(state.keyCooldowns)].filter(
    (fp) => ids.keyIdOf(fp) === undefined,
  );
  const byAccount = [state.accountCooldowns, state.disabledAccounts, state.unavailable, state.limits]
    .flatMap((d) => Object.keys(d))
    .filter((a) => ids.accountOf(a) === undefined);
  return byKey.length + byAccount.length;
}

/** Human names of what a reset cleared, comparing the section before and after. */
export function clearedByReset(
  before: ProviderState,
  after: ProviderState,
  keys: readonly ApiKey[],
  ids: StateIds,
): string[] {
  const out: string[] = [];
  for (const account of new Set(keys.map((k) => k.account))) {
    const s = ids.storedAccount(account);
    if (before.accountCooldowns[s] && !after.accountCooldowns[s])
      out.push(
        `account ${account}: cooldown (${before.accountCooldowns[s].code ?? before.accountCooldowns[s].reason})`,
      );
    if (before.disabledAccounts[s] && !after.disabledAccounts[s])
      out.push(
        `account ${account}: disabled (${before.disabledAccounts[s].code ?? before.disabledAccounts[s].reason})`,
      );
    const models = Object.keys(before.unavailable[s] ?? {}).filter((m) => after.unavailable[s]?.[m] === undefined);
    if (models.length > 0) out.push(`account ${account}: ${models.join(", ")} unavailable`);
  }
  for (const key of keys) {
    const fp = ids.fingerprintOf(key.id) ?? "";
    if (before.keyCooldowns[fp] && !after.keyCooldowns[fp])
      out.push(`key ${key.id}: cooldown (${before.keyCooldowns[fp].code ?? before.keyCooldowns[fp].reason})`);
    if (before.disabledKeys[fp] && !after.disabledKeys[fp])
      out.push(`key ${key.id}: disabled (${before.disabledKeys[fp].code ?? before.disabledKeys[fp].reason})`);
  }
  return out;
}

/** "account personal: glm-4.7 limit 5 → 10" for each learned limit a `--reset learned` changed. */
export function learnedResets(before: ProviderState, after: ProviderState, ids: StateIds): string[] {
  const out: string[] = [];
  for (const [stored, models] of Object.entries(after.limits)) {
    for (const [model, entry] of Object.entries(models)) {
      const old = before.limits[stored]?.[model];
      if (!old || old.at === entry.at) continue;
      const name = ids.accountOf(stored) ?? stored;
      out.push(
        old.limit === entry.limit
          ? `account ${name}: ${model} limit already at its start (${entry.limit})`
          : `account ${name}: ${model} limit ${old.limit} → ${entry.limit} (its start)`,
      );
    }
  }
  return out;
}

export function describeSource(source: KeySource | "none", keysFile: string, envVariable: string): string {
  switch (source) {
    case "env":
      return `$${envVariable}`;
    case "file":
      return keysFile;
    case "auth":
      return "OpenCode auth";
    case "none":
      return "nowhere (no keys configured)";
    default:
      return source satisfies never;
  }
}

function coolingText(c: StoredCooldown, now: number): string {
  return `cooling until ${when(c.until, now)}: ${c.reason}${c.code ? ` (${c.code})` : ""}`;
}

function disabledText(d: StoredDisabled, now: number): string {
  return (
    `disabled: ${d.reason}${d.code && !d.reason.includes(d.code) ? ` (${d.code})` : ""}; re-checked ` +
    `${when(d.at + DISABLED_TTL_MS, now)}`
  );
}

/** "17:38:28 (in 2h 10m)". */
export function when(at: number, now: number): string {
  return `${formatLocalTime(at, now)} (in ${formatWait(at - now)})`;
}

function coolingView(c: StoredCooldown): CooldownView {
  return { until: iso(c.until), reason: c.reason, code: c.code };
}

function disabledView(d: StoredDisabled): DisabledView {
  return { reason: d.reason, code: d.code, since: iso(d.at), recheckAt: iso(d.at + DISABLED_TTL_MS) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
