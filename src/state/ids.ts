import type { ApiKey } from "../config/keys.js";
import { fingerprint } from "../util/redact.js";

/**
 * How configured keys and accounts are named in the state file. Keys by fingerprint (never the key).
 * An account that is just one key (env keys, the OpenCode auth key, a file key without `account`) is
 * named `fp:<fingerprint>` so its cooldowns follow the key, not a position or a default name; a shared
 * account named in the keys file keeps its name.
 */
export interface StateIds {
  /** Fingerprint of a configured key id. */
  fingerprintOf(keyId: string): string | undefined;
  /** Configured key id with this fingerprint. */
  keyIdOf(fingerprint: string): string | undefined;
  /** The state file's name for a configured account. */
  storedAccount(account: string): string;
  /** The configured account with this state file name. */
  accountOf(stored: string): string | undefined;
}

export function stateIds(keys: readonly ApiKey[]): StateIds {
  const fpById = new Map<string, string>();
  const idByFp = new Map<string, string>();
  const keysByAccount = new Map<string, ApiKey[]>();
  for (const key of keys) {
    const fp = fingerprint(key.apiKey);
    fpById.set(key.id, fp);
    idByFp.set(fp, key.id);
    keysByAccount.set(key.account, [...(keysByAccount.get(key.account) ?? []), key]);
  }
  const stored = new Map<string, string>();
  const byStored = new Map<string, string>();
  for (const [account, members] of keysByAccount) {
    const only = members.length === 1 ? members[0] : undefined;
    const name = only && (only.source !== "file" || only.account === only.id) ? `fp:${fpById.get(only.id)}` : account;
    stored.set(account, name);
    byStored.set(name, account);
  }
  return {
    fingerprintOf: (keyId) => fpById.get(keyId),
    keyIdOf: (fp) => idByFp.get(fp),
    storedAccount: (account) => stored.get(account) ?? account,
    accountOf: (name) => byStored.get(name),
  };
}
