/** Plain data: everything the pool knows about keys and accounts. Serializable, so it can be persisted and merged. */

export interface KeyDisabled {
  reason: string;
  code: string | undefined;
  at: number;
}
export interface Cooldown {
  until: number;
  reason: string;
  code: string | undefined;
}
export interface Unavailable {
  /** When to try the (account, model) pair again. */
  until: number;
  code: string;
  wrongEndpoint: boolean;
}

export interface PoolState {
  disabledKeys: Map<string, KeyDisabled>;
  keyCooldowns: Map<string, Cooldown>;
  disabledAccounts: Map<string, KeyDisabled>;
  accountCooldowns: Map<string, Cooldown>;
  /** Keyed by `pairKey(account, model)`. */
  unavailable: Map<string, Unavailable>;
  /** Short holds on (account, model) after a 1302/1303, keyed by `pairKey`; value is the end time. */
  holds: Map<string, number>;
}

export function emptyPoolState(): PoolState {
  return {
    disabledKeys: new Map(),
    keyCooldowns: new Map(),
    disabledAccounts: new Map(),
    accountCooldowns: new Map(),
    unavailable: new Map(),
    holds: new Map(),
  };
}
