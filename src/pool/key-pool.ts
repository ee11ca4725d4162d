import type { ApiKey } from "../config/keys.js";
import { pairKey } from "../limits/pair-key.js";
import { emptyPoolState, type Cooldown, type PoolState } from "./pool-state.js";

/** Why an account cannot take a request of a model right now. */
export type Blocker =
  | { kind: "account-disabled"; account: string; reason: string }
  | { kind: "keys-disabled"; account: string }
  | { kind: "model-unavailable"; account: string; code: string; wrongEndpoint: boolean; until: number }
  | { kind: "account-cooling"; account: string; until: number; reason: string; code: string | undefined }
  | { kind: "keys-cooling"; account: string; until: number }
  | { kind: "held"; account: string; until: number };

/** Blockers that time alone lifts within the process's life. */
export function isTemporary(
  blocker: Blocker,
): blocker is Extract<Blocker, { until: number }> & { kind: "account-cooling" | "keys-cooling" | "held" } {
  return blocker.kind === "account-cooling" || blocker.kind === "keys-cooling" || blocker.kind === "held";
}

/**
 * The keys and accounts of one provider and what is known about them: disabled, cooling, held,
 * models unavailable. Decides which accounts may take a request and which key of an account goes next.
 */
export class KeyPool {
  readonly keys: readonly ApiKey[];
  readonly accounts: readonly string[];
  readonly state: PoolState;
  private readonly keysByAccount = new Map<string, ApiKey[]>();
  private readonly keyCursor = new Map<string, number>();

  constructor(keys: readonly ApiKey[], state: PoolState = emptyPoolState()) {
    this.keys = keys;
    this.state = state;
    for (const key of keys) {
      const list = this.keysByAccount.get(key.account);
      if (list) list.push(key);
      else this.keysByAccount.set(key.account, [key]);
    }
    this.accounts = [...this.keysByAccount.keys()];
  }

  keysOf(account: string): readonly ApiKey[] {
    return this.keysByAccount.get(account) ?? [];
  }

  /** Undefined when the account may take a request of `model` now; else the reason it may not. */
  blocker(account: string, model: string, now: number): Blocker | undefined {
    const s = this.state;
    if (nothingKnown(s)) return undefined; // the usual case, asked several times per request
    const disabled = s.disabledAccounts.get(account);
    if (disabled) return { kind: "account-disabled", account, reason: disabled.reason };
    const keys = this.keysOf(account).filter((k) => !s.disabledKeys.has(k.id));
    if (keys.length === 0) return { kind: "keys-disabled", account };
    const pair = pairKey(account, model);
    const unavailable = s.unavailable.get(pair);
    if (unavailable && unavailable.until > now) return { kind: "model-unavailable", account, ...unavailable };
    const cooling = s.accountCooldowns.get(account);
    if (cooling && cooling.until > now) return { kind: "account-cooling", account, ...cooling };
    let keysFreeAt = Number.POSITIVE_INFINITY;
    for (const key of keys) {
      const until = s.keyCooldowns.get(key.id)?.until ?? 0;
      if (until <= now) {
        keysFreeAt = now;
        break;
      }
      keysFreeAt = Math.min(keysFreeAt, until);
    }
    if (keysFreeAt > now) return { kind: "keys-cooling", account, until: keysFreeAt };
    const held = s.holds.get(pair);
    if (held !== undefined && held > now) return { kind: "held", account, until: held };
    return undefined;
  }

  /** Accounts that may take a request of `model` now, in file order. */
  usableAccounts(model: string, now: number): string[] {
    return this.accounts.filter((a) => this.blocker(a, model, now) === undefined);
  }

  blockers(model: string, now: number): Blocker[] {
    const out: Blocker[] = [];
    for (const account of this.accounts) {
      const b = this.blocker(account, model, now);
      if (b) out.push(b);
    }
    return out;
  }

  /** The key is neither disabled nor cooling at `now`. */
  keyUsable(key: ApiKey, now: number): boolean {
    return !this.state.disabledKeys.has(key.id) && (this.state.keyCooldowns.get(key.id)?.until ?? 0) <= now;
  }

  /** The account's next usable key, round-robin. Undefined if none is usable. */
  nextKey(account: string, now: number): ApiKey | undefined {
    const keys = this.keysOf(account);
    const start = this.keyCursor.get(account) ?? 0;
    for (let i = 0; i < keys.length; i++) {
      const index = (start + i) % keys.length;
      const key = keys[index]!;
      if (!this.keyUsable(key, now)) continue;
      this.keyCursor.set(account, index + 1);
      return key;
    }
    return undefined;
  }

  disableKey(keyId: string, reason: string, code: string | undefined, now: number): void {
    this.state.disabledKeys.set(keyId, { reason, code, at: now });
  }

  disableAccount(account: string, reason: string, code: string | undefined, now: number): void {
    this.state.disabledAccounts.set(account, { reason, code, at: now });
  }

  coolKey(keyId: string, cooldown: Cooldown): void {
    extend(this.state.keyCooldowns, keyId, cooldown);
  }

  coolAccount(account: string, cooldown: Cooldown): void {
    extend(this.state.accountCooldowns, account, cooldown);
  }

  markUnavailable(account: string, model: string, code: string, wrongEndpoint: boolean, until: number): void {
    this.state.unavailable.set(pairKey(account, model), { code, wrongEndpoint, until });
  }

  hold(account: string, model: string, until: number): void {
    const pair = pairKey(account, model);
    if ((this.state.holds.get(pair) ?? 0) < until) this.state.holds.set(pair, until);
  }

  /** A success proves the pair is available again (a plan upgrade, a window reset earlier than stated). */
  markServed(account: string, model: string): void {
    this.state.unavailable.delete(pairKey(account, model));
  }

  /** Drops expired cooldowns and holds so the maps stay small. */
  prune(now: number): void {
    for (const [k, c] of this.state.keyCooldowns) if (c.until <= now) this.state.keyCooldowns.delete(k);
    for (const [k, c] of this.state.accountCooldowns) if (c.until <= now) this.state.accountCooldowns.delete(k);
    for (const [k, until] of this.state.holds) if (until <= now) this.state.holds.delete(k);
  }
}

function nothingKnown(s: PoolState): boolean {
  return (
    s.disabledAccounts.size +
      s.disabledKeys.size +
      s.unavailable.size +
      s.accountCooldowns.size +
      s.keyCooldowns.size +
      s.holds.size ===
    0
  );
}

function extend(map: Map<string, Cooldown>, id: string, cooldown: Cooldown): void {
  const current = map.get(id);
  if (!current || current.until < cooldown.until) map.set(id, cooldown);
}
