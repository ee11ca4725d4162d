import { acceptsLimit, type SharedLimit } from "./ledger.js";
import { pairKey } from "../limits/pair-key.js";

/**
 * The latest learned limit of each (account, model) known to this process, whoever learned it, and who listens:
 * limits other processes published, and state-file announcements. Stale limits are refused (`acceptsLimit`).
 */
export class LimitBook {
  private readonly limits = new Map<string, SharedLimit>();
  private readonly listeners: Array<(limit: SharedLimit) => void> = [];
  private readonly stateListeners: Array<() => void> = [];

  /** The pair's latest limit (the coordinator caps every grant by it). */
  limitOf(account: string, model: string): number | undefined {
    return this.limits.get(pairKey(account, model))?.state.limit;
  }

  all(): SharedLimit[] {
    return [...this.limits.values()];
  }

  /** Keeps `limit` as the pair's latest unless it is stale; true when kept (and so to be passed on). */
  keep(limit: SharedLimit): boolean {
    const key = pairKey(limit.account, limit.model);
    if (!acceptsLimit(this.limits.get(key)?.state, limit.state)) return false;
    this.limits.set(key, limit);
    return true;
  }

  /** A limit learned by another process: kept and told to this process's listeners; true when kept. */
  remote(limit: SharedLimit): boolean {
    if (!this.keep(limit)) return false;
    for (const listener of this.listeners) listener(limit);
    return true;
  }

  onLimit(listener: (limit: SharedLimit) => void): void {
    this.listeners.push(listener);
    for (const limit of this.limits.values()) listener(limit);
  }

  onState(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  /** Another process wrote something new to the state file. */
  stateAnnounced(): void {
    for (const listener of this.stateListeners) listener();
  }
}
