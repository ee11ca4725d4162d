/** Counters of one simulator instance. Snapshots are plain, JSON-serializable copies. */
import type { Counts, SimulatorHit } from "./types.js";

export const LOG_CAP = 10_000;

/** Keeps the latest `cap` items; trims in batches so appending stays O(1) amortized. */
class RecentLog<T> {
  #items: T[] = [];
  constructor(private readonly cap: number) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= 2 * this.cap) this.#items = this.#items.slice(-this.cap);
  }

  snapshot(): T[] {
    return this.#items.slice(-this.cap);
  }

  clear(): void {
    this.#items = [];
  }
}

function bump(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

export interface StatsSnapshot {
  requests: number;
  byKey: Counts;
  byAccount: Counts;
  byCode: Counts;
  completed: number;
  clientClosed: number;
  authorizations: string[];
  hits: SimulatorHit[];
}

export class StatsRecorder {
  #requests = 0;
  #completed = 0;
  #clientClosed = 0;
  readonly #byKey = new Map<string, number>();
  readonly #byAccount = new Map<string, number>();
  readonly #byCode = new Map<string, number>();
  readonly #authorizations = new RecentLog<string>(LOG_CAP);
  readonly #hits = new RecentLog<SimulatorHit>(LOG_CAP);

  /** A chat-completion request arrived. */
  request(key: string, account: string | null, authorization: string | undefined): void {
    this.#requests += 1;
    if (key !== "") bump(this.#byKey, key);
    if (account !== null) bump(this.#byAccount, account);
    if (authorization !== undefined) this.#authorizations.push(authorization);
  }

  /** Its outcome was decided; `codeLabel` is the byCode bucket ("200", "1302", "drop", ...). */
  outcome(hit: SimulatorHit, codeLabel: string): void {
    bump(this.#byCode, codeLabel);
    this.#hits.push(hit);
  }

  completed(): void {
    this.#completed += 1;
  }

  /** A client went away before its answer ended. */
  clientClosed(): void {
    this.#clientClosed += 1;
  }

  snapshot(): StatsSnapshot {
    return {
      requests: this.#requests,
      byKey: Object.fromEntries(this.#byKey),
      byAccount: Object.fromEntries(this.#byAccount),
      byCode: Object.fromEntries(this.#byCode),
      completed: this.#completed,
      clientClosed: this.#clientClosed,
      authorizations: this.#authorizations.snapshot(),
      hits: this.#hits.snapshot().map((hit) => ({ ...hit })),
    };
  }

  reset(): void {
    this.#requests = 0;
    this.#completed = 0;
    this.#clientClosed = 0;
    this.#byKey.clear();
    this.#byAccount.clear();
    this.#byCode.clear();
    this.#authorizations.clear();
    this.#hits.clear();
  }
}
