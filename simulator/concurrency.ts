/** In-flight requests per (account, model), with high-water marks. */
import type { Counts } from "./types.js";

type Nested = Map<string, Map<string, number>>;

function get(table: Nested, account: string, model: string): number {
  return table.get(account)?.get(model) ?? 0;
}

function set(table: Nested, account: string, model: string, value: number): void {
  let row = table.get(account);
  if (row === undefined) {
    row = new Map();
    table.set(account, row);
  }
  row.set(model, value);
}

function snapshot(table: Nested, skipZero: boolean): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const [account, row] of table) {
    const entries = [...row].filter(([, n]) => !skipZero || n > 0);
    if (entries.length > 0) out[account] = Object.fromEntries(entries);
  }
  return out;
}

export class ConcurrencyTracker {
  readonly #current: Nested = new Map();
  readonly #max: Nested = new Map();

  current(account: string, model: string): number {
    return get(this.#current, account, model);
  }

  /** Takes a slot unless `limit` slots are already taken. */
  tryAcquire(account: string, model: string, limit: number): boolean {
    const now = get(this.#current, account, model);
    if (now >= limit) return false;
    set(this.#current, account, model, now + 1);
    if (now + 1 > get(this.#max, account, model)) set(this.#max, account, model, now + 1);
    return true;
  }

  release(account: string, model: string): void {
    set(this.#current, account, model, Math.max(0, get(this.#current, account, model) - 1));
  }

  inFlight(): Record<string, Counts> {
    return snapshot(this.#current, true);
  }

  maxInFlight(): Record<string, Counts> {
    return snapshot(this.#max, false);
  }

  /** High-water marks start again from the current in-flight counts. */
  resetMax(): void {
    this.#max.clear();
    for (const [account, row] of this.#current) {
      for (const [model, n] of row) if (n > 0) set(this.#max, account, model, n);
    }
  }
}
