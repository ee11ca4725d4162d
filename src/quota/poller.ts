import PQueue from "p-queue";
import type { ApiKey } from "../config/keys.js";
import type { QuotaSettings } from "../config/schema.js";
import { systemClock, type Clock } from "../util/clock.js";
import { readQuota } from "./read-quota.js";
import { calibrate, NO_USAGE, project, usageBetween, type UsageCount, type UsageRate } from "./projection.js";
import { pastThresholdUntil, usedPercent, type QuotaAnswer, type QuotaReading } from "./reading.js";
import type { Usage } from "./usage.js";

/** Usage alone never triggers reads of one account closer together than this. */
export const MIN_POLL_GAP_MS = 250;
/** Below the threshold by at most this many points (projected), an account is read after every few requests. */
export const NEAR_POINTS = 3;
/** Without a calibrated rate, an account whose last reading is this close to the threshold is near too. */
export const UNCALIBRATED_NEAR_POINTS = 10;
/** A reading further than this from what was projected for it means the rate is off: read again soon. */
export const DISAGREE_POINTS = 1.5;
/** The calibration anchor moves to the newest reading once this many requests lie between them. */
export const ANCHOR_SPAN_REQUESTS = 40;

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
  /** What was used here, ever; and that count when the current reading's read started. */
  usage: UsageCount;
  atReading: UsageCount;
  /** The reading rates are measured from, and the usage count at its read. */
  anchor: { reading: QuotaReading; at: UsageCount } | undefined;
  rate: UsageRate;
  /** The last reading was further from its projection than DISAGREE_POINTS: read again after a few requests. */
  unsure: boolean;
}

/**
 * Reads each account's quota, never on the request path and never while idle: once at start; again after every
 * `pollEveryCompletions` requests sent to it (at most every MIN_POLL_GAP_MS) while that matters (its projection is
 * within NEAR_POINTS of the threshold, or within UNCALIBRATED_NEAR_POINTS while no rate is known, or the last
 * reading disagreed with its projection); and every `pollIntervalMs` while it is in use or past the threshold. At
 * most one read per account in flight, all reads bounded by one queue. Between reads, `projected` moves the last
 * reading on by the usage counted since (requests sent; tokens of each answer) at the calibrated rate.
 */
export class QuotaPoller {
  private readonly deps: QuotaPollerDeps;
  private readonly queue: TaskQueue;
  private readonly accounts = new Map<string, AccountPolls>();
  private baseUrl: string | undefined;
  private lastPass = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Requests on any account since the last periodic pass: none means idle, and an idle pass reads nothing. */
  private activity = 0;
  /** Reads started, for the benchmark's poll budget. */
  polls = 0;

  constructor(accounts: readonly string[], deps: QuotaPollerDeps) {
    this.deps = deps;
    this.queue = deps.queue ?? new PQueue({ concurrency: 2, intervalCap: 4, interval: 1000 });
    for (const a of accounts) {
      this.accounts.set(a, {
        reading: undefined,
        seeded: false,
        inFlight: undefined,
        lastStart: Number.NEGATIVE_INFINITY,
        usage: { ...NO_USAGE },
        atReading: NO_USAGE,
        anchor: undefined,
        rate: {},
        unsure: false,
      });
    }
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
      const past =
        a.reading !== undefined && pastThresholdUntil(a.reading, this.deps.settings.threshold, now) !== undefined;
      if (active && (a.usage.requests > a.atReading.requests || past)) void this.poll(account);
    }
  }

  /**
   * A reading another process of the user took (the quota file beside the state file), used until this one's own
   * first read answers: a fresh process (every `opencode run` is one) routes its first requests with what is known.
   * Ignored when this poller has a reading already, or when it is older than `pollIntervalMs`.
   */
  seed(account: string, reading: QuotaReading, rate?: UsageRate): void {
    const a = this.accounts.get(account);
    if (!a || a.reading !== undefined || !this.deps.settings.enabled) return;
    if (this.deps.clock.now() - reading.at > this.deps.settings.pollIntervalMs) return;
    a.reading = reading;
    a.seeded = true;
    a.atReading = { ...a.usage };
    if (rate !== undefined) a.rate = rate;
  }

  reading(account: string): QuotaReading | undefined {
    return this.accounts.get(account)?.reading;
  }

  /** The calibrated rates and the usage counted since the last reading (for `status` and other processes). */
  view(account: string): { rate: UsageRate; since: UsageCount } | undefined {
    const a = this.accounts.get(account);
    return a && { rate: a.rate, since: usageBetween(a.atReading, a.usage) };
  }

  /** The last reading moved on by what was used here since (see projection.ts). */
  projected(account: string): QuotaReading | undefined {
    const a = this.accounts.get(account);
    return a?.reading === undefined ? undefined : projectNow(a, a.reading, a.usage);
  }

  /** A request was sent to `account` (it holds a slot there now). */
  sent(account: string): void {
    const a = this.accounts.get(account);
    if (!a || this.baseUrl === undefined) return;
    a.usage.requests++;
    this.activity++;
    if (this.matters(a)) void this.poll(account);
    this.tick();
  }

  /** An answer on `account` reported what it used. */
  used(account: string, usage: Usage): void {
    const a = this.accounts.get(account);
    if (!a) return;
    a.usage.tokens += usage.promptTokens + usage.completionTokens;
    a.usage.cached += usage.cachedTokens;
    a.usage.tokened++;
  }

  /** Whether a read of the account now is worth one of its budget (see the class comment). */
  private matters(a: AccountPolls): boolean {
    const { settings, clock } = this.deps;
    const now = clock.now();
    if (a.reading === undefined || a.inFlight !== undefined) return false;
    const sentSince = a.usage.requests - a.atReading.requests;
    if (sentSince < settings.pollEveryCompletions || now - a.lastStart < MIN_POLL_GAP_MS) return false;
    if (a.unsure) return true;
    const limit = settings.threshold * 100;
    const calibrated = a.rate.fiveHour?.perRequest !== undefined || a.rate.weekly?.perRequest !== undefined;
    const used = usedPercent(calibrated ? projectNow(a, a.reading, a.usage) : a.reading, now) ?? 0;
    return used < limit && used >= limit - (calibrated ? NEAR_POINTS : UNCALIBRATED_NEAR_POINTS);
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
    const atStart = { ...a.usage };
    const run = async (): Promise<void> => {
      this.polls++;
      const answer = await readQuota(
        {
          fetch: this.deps.fetch,
          clock: this.deps.clock,
          timers: this.deps.timers ?? systemClock,
          ...(this.deps.timeoutMs ? { timeoutMs: this.deps.timeoutMs } : {}),
        },
        baseUrl,
        key.apiKey,
      );
      this.take(account, key, answer, atStart, { ...a.usage });
    };
    a.inFlight = this.queue
      .add(run)
      .catch((error: unknown) =>
        this.deps.onDebug?.(
          `quota read of ${account} failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .finally(() => {
        a.inFlight = undefined;
      });
    return a.inFlight;
  }

  close(): void {
    this.closed = true;
    this.queue.clear();
  }

  private take(account: string, key: ApiKey, answer: QuotaAnswer, atStart: UsageCount, atEnd: UsageCount): void {
    switch (answer.kind) {
      case "reading": {
        const a = this.accounts.get(account);
        if (a) this.learn(a, answer.reading, atStart, atEnd);
        if (answer.ignoredRows > 0)
          this.deps.onDebug?.(`quota of ${account}: ${answer.ignoredRows} row(s) of unknown shape ignored`);
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

  /**
   * A new reading: compare it with its projection, calibrate the rates against the anchor, move on. Z.AI counted
   * somewhere between the read's start and its answer: the projection goes on from the start (requests sent during
   * the read count as since), and an anchor stands at the answer, so the usage between anchor and reading errs short
   * and the rate high (the safe side near a threshold).
   */
  private learn(a: AccountPolls, reading: QuotaReading, atStart: UsageCount, atEnd: UsageCount): void {
    const now = this.deps.clock.now();
    if (a.reading !== undefined) {
      const expected = usedPercent(projectNow(a, a.reading, atStart), now);
      const actual = usedPercent(reading, now);
      a.unsure = expected !== undefined && actual !== undefined && Math.abs(expected - actual) > DISAGREE_POINTS;
    }
    const anchor = a.anchor;
    if (anchor !== undefined && !a.seeded) {
      a.rate = calibrate(anchor.reading, reading, usageBetween(anchor.at, atStart), a.rate);
    }
    const far = anchor !== undefined && atStart.requests - anchor.at.requests >= ANCHOR_SPAN_REQUESTS;
    if (anchor === undefined || a.seeded || !sameWindowReset(anchor.reading, reading) || far) {
      a.anchor = { reading, at: atEnd };
    }
    a.reading = reading;
    a.seeded = false;
    a.atReading = atStart;
  }
}

/** `reading` moved on by the usage counted from its read up to `upTo`, at the account's rates. */
function projectNow(a: AccountPolls, reading: QuotaReading, upTo: UsageCount): QuotaReading {
  const average = a.usage.tokened > 0 ? a.usage.tokens / a.usage.tokened : 0;
  return project(reading, a.rate, usageBetween(a.atReading, upTo), average);
}

/** False when a window reset between the two readings (its reset time moved, or its percentage dropped). */
function sameWindowReset(a: QuotaReading, b: QuotaReading): boolean {
  for (const w of ["fiveHour", "weekly"] as const) {
    const x = a[w];
    const y = b[w];
    if (x !== undefined && y !== undefined && (x.resetAt !== y.resetAt || y.percentage < x.percentage)) return false;
  }
  return true;
}
