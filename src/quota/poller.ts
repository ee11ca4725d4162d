import PQueue from "p-queue";
import type { ApiKey } from "../config/keys.js";
import type { QuotaSettings } from "../config/schema.js";
import { systemClock, type Clock } from "../util/clock.js";
import { readQuota } from "./read-quota.js";
import { project, rateBetween, type UsageRate } from "./projection.js";
import { pastThresholdUntil, type QuotaAnswer, type QuotaReading } from "./reading.js";

/** Completions alone never trigger reads of one account closer together than this. */
export const MIN_POLL_GAP_MS = 2_000;

/** The part of p-queue the poller uses: tests can pass their own. */
export interface TaskQueue {
  add<T>(task: () => Promise<T>): Promise<T>;
  clear(): void;
}

export interface QuotaPollerDeps {
  settings: QuotaSettings;
  /** Time for the polling rules (reading ages, gaps, the periodic pass). */
  clock: Clock;
  /**
   * Timers for a read's timeout only: a real-time safety net, so by default the system's (unref'd) and not the
   * injected clock, which then never holds a quota timer. Tests that exercise the timeout pass their fake clock.
   */
  timers?: Pick<Clock, "setTimer">;
  fetch: typeof globalThis.fetch;
  /** The key to read an account with now (a usable one), or undefined to skip it. */
  keyFor(account: string): ApiKey | undefined;
  onReading?(account: string, reading: QuotaReading): void;
  onBadKey?(account: string, key: ApiKey, answer: Extract<QuotaAnswer, { kind: "bad-key" }>): void;
  /** One line per unknown answer, for the debug log. */
  onDebug?(message: string): void;
  /** Bounds all reads of this poller (default: 2 at a time, at most 4 started per second). */
  queue?: TaskQueue;
  timeoutMs?: number;
}

interface AccountPolls {
  reading: QuotaReading | undefined;
  /** The reading came from another process (`seed`): no usage rate is measured against it. */
  seeded: boolean;
  inFlight: Promise<void> | undefined;
  lastStart: number;
  /** Completions since the last read started. */
  completions: number;
  /** Completions served here, ever; and that count when the current reading's read started. */
  served: number;
  servedAtReading: number;
  rate: UsageRate;
}

/**
 * Reads each account's quota: once at start, after every `pollEveryCompletions` completions on it (at most every
 * 2 s), and every `pollIntervalMs` while it is in use or past the threshold (and something was served since the last
 * pass); never while idle. At most one read
 * per account in flight, all reads bounded by one queue. Nothing here is awaited by the request path.
 */
export class QuotaPoller {
  private readonly deps: QuotaPollerDeps;
  private readonly queue: TaskQueue;
  private readonly accounts = new Map<string, AccountPolls>();
  private baseUrl: string | undefined;
  private lastPass = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Completions on any account since the last periodic pass: none means idle, and an idle pass reads nothing. */
  private activity = 0;
  /** Reads started, for the benchmark's poll budget. */
  polls = 0;

  constructor(accounts: readonly string[], deps: QuotaPollerDeps) {
    this.deps = deps;
    this.queue = deps.queue ?? new PQueue({ concurrency: 2, intervalCap: 4, interval: 1000 });
    for (const a of accounts) this.accounts.set(a, { reading: undefined, seeded: false, inFlight: undefined, lastStart: Number.NEGATIVE_INFINITY, completions: 0, served: 0, servedAtReading: 0, rate: {} });
  }

  /** Starts on the first request (its URL gives the origin); later calls do nothing. */
  start(baseUrl: string): void {
    if (this.baseUrl !== undefined || this.closed || !this.deps.settings.enabled) return;
    this.baseUrl = baseUrl;
    this.lastPass = this.deps.clock.now();
    for (const account of this.accounts.keys()) void this.poll(account);
  }

  /**
   * The periodic pass, run from the request path's events instead of a timer (so an idle process reads nothing
   * and holds no timer): every `pollIntervalMs`, accounts used since their last read or past the threshold.
   */
  tick(): void {
    if (this.baseUrl === undefined || this.closed) return;
    const now = this.deps.clock.now();
    if (now - this.lastPass < this.deps.settings.pollIntervalMs) return;
    this.lastPass = now;
    const active = this.activity > 0;
    this.activity = 0;
    for (const [account, a] of this.accounts) {
      const past = a.reading !== undefined && pastThresholdUntil(a.reading, this.deps.settings.threshold, now) !== undefined;
      if (active && (a.completions > 0 || past)) void this.poll(account);
    }
  }

  /**
   * A reading another process of the user took (the quota file beside the state file), used until this one's own
   * first read answers: a fresh process (every `opencode run` is one) routes its first requests with what is known.
   * Ignored when this poller has a reading already, or when it is older than `pollIntervalMs`.
   */
  seed(account: string, reading: QuotaReading): void {
    const a = this.accounts.get(account);
    if (!a || a.reading !== undefined || !this.deps.settings.enabled) return;
    if (this.deps.clock.now() - reading.at > this.deps.settings.pollIntervalMs) return;
    a.reading = reading;
    a.seeded = true;
    a.servedAtReading = a.served;
  }

  reading(account: string): QuotaReading | undefined {
    return this.accounts.get(account)?.reading;
  }

  /** The last reading moved on by what was served here since (see projection.ts). */
  projected(account: string): QuotaReading | undefined {
    const a = this.accounts.get(account);
    if (a?.reading === undefined) return undefined;
    return project(a.reading, a.rate, a.served - a.servedAtReading);
  }

  /** A completion was served on `account`. */
  completed(account: string): void {
    const a = this.accounts.get(account);
    if (!a || this.baseUrl === undefined) return;
    a.completions++;
    a.served++;
    this.activity++;
    const now = this.deps.clock.now();
    if (a.completions >= this.deps.settings.pollEveryCompletions && now - a.lastStart >= MIN_POLL_GAP_MS) void this.poll(account);
    this.tick();
  }

  /** Reads `account` now unless a read of it is already in flight (then that one is returned). */
  poll(account: string): Promise<void> {
    const a = this.accounts.get(account);
    const baseUrl = this.baseUrl;
    if (!a || baseUrl === undefined || this.closed) return Promise.resolve();
    if (a.inFlight) return a.inFlight;
    const key = this.deps.keyFor(account);
    if (!key) return Promise.resolve();
    a.lastStart = this.deps.clock.now();
    a.completions = 0;
    const servedAtStart = a.served;
    const run = async (): Promise<void> => {
      this.polls++;
      const answer = await readQuota({ fetch: this.deps.fetch, clock: this.deps.clock, timers: this.deps.timers ?? systemClock, ...(this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {}) }, baseUrl, key.apiKey);
      this.take(account, key, answer, servedAtStart);
    };
    a.inFlight = this.queue
      .add(run)
      .catch((error: unknown) => this.deps.onDebug?.(`quota read of ${account} failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        a.inFlight = undefined;
      });
    return a.inFlight;
  }

  close(): void {
    this.closed = true;
    this.queue.clear();
  }

  private take(account: string, key: ApiKey, answer: QuotaAnswer, servedAtStart: number): void {
    switch (answer.kind) {
      case "reading": {
        const a = this.accounts.get(account);
        if (a) {
          if (a.reading !== undefined && !a.seeded) a.rate = rateBetween(a.reading, answer.reading, servedAtStart - a.servedAtReading, a.rate);
          a.reading = answer.reading;
          a.seeded = false;
          a.servedAtReading = servedAtStart;
        }
        if (answer.ignoredRows > 0) this.deps.onDebug?.(`quota of ${account}: ${answer.ignoredRows} row(s) of unknown shape ignored`);
        this.deps.onReading?.(account, answer.reading);
        return;
      }
      case "bad-key":
        this.deps.onBadKey?.(account, key, answer);
        return;
      case "unknown":
        this.deps.onDebug?.(`quota of ${account} (key ${key.id}) not read: ${answer.why}`);
        return;
      default:
        answer satisfies never;
    }
  }
}
