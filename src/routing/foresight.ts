import type { ApiKey } from "../config/keys.js";
import type { Settings } from "../config/schema.js";
import type { Notifier } from "../notify/notifier.js";
import { SessionAffinity, sessionOf, type Placement, type SessionRef } from "./affinity.js";
import type { KeyPool } from "../pool/key-pool.js";
import { chooseAccounts } from "./choose-account.js";
import type { Clock } from "../util/clock.js";
import { coolUsageWindow } from "../pool/usage-window.js";
import { QuotaPoller, type TaskQueue } from "../quota/poller.js";
import { pastThresholdUntil, usedPercent, type QuotaReading, type QuotaWindow } from "../quota/reading.js";
import type { QuotaPace } from "../quota/quota-file.js";
import type { Usage } from "../quota/usage.js";

/** What the request path needs from the scheduler and the limits (kept narrow so this file has no core imports). */
export interface SlotView {
  inFlight(account: string, model: string): number;
  cap(account: string, model: string): number;
  waiting(model: string): number;
  wakeAt(time: number): void;
}

export interface ForesightDeps {
  pool: KeyPool;
  slots: SlotView;
  settings: Settings;
  clock: Clock;
  /** Reads the quota endpoint; undefined: quotas are not read (quota routing then has nothing to act on). */
  quotaFetch: typeof globalThis.fetch | undefined;
  notifier: Notifier;
  /** A new quota reading (to persist for `status`); sessions = live sessions per account now. */
  onQuota?(account: string, reading: QuotaReading, sessions: number, pace: QuotaPace): void;
  queue?: TaskQueue;
  /**
   * Where round-robin starts (an index, taken modulo the usable accounts). Processes sharing the accounts start
   * apart, so that their first sessions do not all go to the first account (each sees only its own load at first).
   */
  rotationStart?: number;
}

/** One request as foresight sees it. */
export interface Turn {
  model: string;
  session: SessionRef;
  /** When the request started waiting for a slot. */
  startedAt: number;
  /**
   * When it was first held for its session's account while another account had a free slot: the sticky wait counts
   * from there (time spent while every account was full costs stickiness nothing).
   */
  heldSince?: number;
}

/**
 * Looking ahead on the request path: quota readings (polled beside it, never awaited) and session placements
 * turn into the order accounts are offered a request, via the pure `chooseAccounts`.
 */
export class Foresight {
  readonly poller: QuotaPoller;
  readonly affinity: SessionAffinity;
  private readonly deps: ForesightDeps;
  private readonly cursors = new Map<string, number>();
  private allPastSaid = false;

  constructor(deps: ForesightDeps) {
    this.deps = deps;
    const { pool, settings, clock, notifier } = deps;
    this.affinity = new SessionAffinity({ maxSessions: settings.affinity.maxSessions, ttlMs: settings.affinity.ttlMs });
    const quotaFetch = deps.quotaFetch;
    this.poller = new QuotaPoller(pool.accounts, {
      settings: quotaFetch ? settings.quota : { ...settings.quota, enabled: false },
      clock,
      fetch: quotaFetch ?? (() => Promise.reject(new Error("no quota fetch"))),
      keyFor: (account) => this.usableKey(account, undefined),
      onReading: (account, reading) => this.onReading(account, reading),
      onBadKey: (account, key, answer) =>
        notifier.log(
          "warn",
          `quota endpoint refused key ${key.id} of account ${account} (${answer.code}: ${answer.message})`,
        ),
      onDebug: (message) => notifier.log("debug", message),
      ...(deps.queue ? { queue: deps.queue } : {}),
    });
  }

  /** The request's turn: its session (from OpenCode's headers) and start; starts polling on the first request. */
  turn(url: string, headers: Headers, model: string): Turn {
    this.poller.start(url);
    this.poller.tick();
    const session = this.deps.settings.affinity.enabled ? sessionOf(headers) : { id: undefined, parent: undefined };
    return { model, session, startedAt: this.deps.clock.now() };
  }

  /** Usable accounts for the turn, best first; accounts in `avoid` go last. */
  candidates(turn: Turn, avoid: ReadonlySet<string>): string[] {
    const { pool, slots, settings, clock } = this.deps;
    const now = clock.now();
    const { model } = turn;
    const load = (a: string) => ({ inFlight: slots.inFlight(a, model), cap: slots.cap(a, model) });
    const placement = stickyPlacement(this.affinity, turn.session, now, (a) => load(a).inFlight < load(a).cap);
    const threshold = settings.quota.threshold;
    const choice = chooseAccounts({
      usable: pool.usableAccounts(model, now),
      strategy: settings.rotation.strategy,
      cursor: this.cursors.get(model) ?? this.deps.rotationStart ?? 0,
      avoid,
      load,
      ...(settings.quota.enabled
        ? {
            quota: (a: string) => {
              const r = this.poller.projected(a);
              return r === undefined
                ? undefined
                : { pastUntil: pastThresholdUntil(r, threshold, now), usedPercent: usedPercent(r, now) };
            },
          }
        : {}),
      sticky: placement && {
        account: placement.account,
        waitedMs: turn.heldSince === undefined ? 0 : now - turn.heldSince,
        maxWaitMs: Math.min(
          settings.affinity.maxWaitMs,
          cacheSavingMs(placement.promptTokens, settings.affinity.cacheMsPer1kTokens),
        ),
        othersWaiting: Math.max(0, slots.waiting(model) - 1),
      },
      newSession: turn.session.id !== undefined && placement === undefined,
      sessions: (a) => this.affinity.sessionsOn(a),
    });
    if (choice.holdForSticky) {
      turn.heldSince ??= now;
      slots.wakeAt(now + choice.holdForSticky.recheckInMs);
    }
    if (choice.allPastThreshold && !this.allPastSaid) {
      this.allPastSaid = true;
      this.deps.notifier.toast(
        "usage-window",
        `Every account is past ${Math.round(threshold * 100)}% of its usage window; using the one with the most ` +
          `left (${choice.order[0] ?? "none"}) rather than stalling.`,
      );
    } else if (!choice.allPastThreshold && choice.order.length > 0) this.allPastSaid = false;
    return choice.order;
  }

  /** The key to use on `account`: the session's previous key when it is still usable there, else none (rotate). */
  keyFor(turn: Turn, account: string): ApiKey | undefined {
    const placement = this.affinity.lookup(turn.session, this.deps.clock.now());
    if (placement?.account !== account) return undefined;
    return this.usableKey(account, placement.keyId);
  }

  /** A usable key of the account (that one, when `keyId` is given), without moving the pool's key rotation. */
  private usableKey(account: string, keyId: string | undefined): ApiKey | undefined {
    const { pool, clock } = this.deps;
    const now = clock.now();
    return pool.keysOf(account).find((k) => (keyId === undefined || k.id === keyId) && pool.keyUsable(k, now));
  }

  /** A slot on `account` was granted: round-robin moves on past it, the poller counts a request sent there. */
  leased(turn: Turn, account: string): void {
    const usable = this.deps.pool.usableAccounts(turn.model, this.deps.clock.now());
    this.cursors.set(turn.model, usable.indexOf(account) + 1);
    this.poller.sent(account);
    // A new session counts on its account from its first request, so that the next new one is placed elsewhere.
    const id = turn.session.id;
    const now = this.deps.clock.now();
    if (id !== undefined && this.affinity.own(turn.session, now) === undefined)
      this.affinity.place(id, account, "", now);
  }

  /** Z.AI took the turn on `key`: the session stays there. */
  served(turn: Turn, key: ApiKey): void {
    const now = this.deps.clock.now();
    if (turn.session.id !== undefined) this.affinity.place(turn.session.id, key.account, key.id, now);
  }

  /** The turn's answer on `key` reported what it used: counted for the account's projection. */
  used(turn: Turn, key: ApiKey, usage: Usage): void {
    this.poller.used(key.account, usage);
    if (turn.session.id !== undefined) this.affinity.noteTokens(turn.session.id, usage.promptTokens);
  }

  close(): void {
    this.poller.close();
  }

  /** A window at 100% with a known reset cools the account until then, like the 1308/1310 it would answer. */
  private onReading(account: string, reading: QuotaReading): void {
    const { pool, slots, clock, notifier } = this.deps;
    const now = clock.now();
    for (const [window, code] of [
      [reading.weekly, "1310"],
      [reading.fiveHour, "1308"],
    ] as Array<[QuotaWindow | undefined, string]>) {
      if (window === undefined || window.percentage < 100 || window.resetAt === undefined || window.resetAt <= now)
        continue;
      const current = pool.state.accountCooldowns.get(account);
      if (current && current.until >= window.resetAt) break;
      coolUsageWindow(
        { pool, notifier, wakeAt: (t) => slots.wakeAt(t) },
        account,
        code,
        window.resetAt,
        now,
        "quota endpoint: 100%",
      );
      break;
    }
    const rate = this.poller.view(account)?.rate;
    const pace: QuotaPace = {};
    if (rate?.fiveHour?.perMinute !== undefined) pace.fiveHour = rate.fiveHour.perMinute;
    if (rate?.weekly?.perMinute !== undefined) pace.weekly = rate.weekly.perMinute;
    this.deps.onQuota?.(account, reading, this.affinity.sessionsPerAccount(now).get(account) ?? 0, pace);
  }
}

/**
 * The placement a turn sticks to: its session's own; for a subagent without one, its parent's while that account
 * has a free slot (else it is placed as a new session, by sessions and load).
 */
function stickyPlacement(
  affinity: SessionAffinity,
  session: SessionRef,
  now: number,
  free: (account: string) => boolean,
): Placement | undefined {
  const own = affinity.own(session, now);
  if (own !== undefined || session.parent === undefined) return own;
  const parent = affinity.lookup({ id: undefined, parent: session.parent }, now);
  return parent !== undefined && free(parent.account) ? { ...parent, promptTokens: 0 } : undefined;
}

/** What a cache hit on a prompt of `promptTokens` saves, in ms (unknown prompt: as if it saved `maxWaitMs`). */
function cacheSavingMs(promptTokens: number | undefined, msPer1kTokens: number): number {
  return promptTokens === undefined ? Number.POSITIVE_INFINITY : (promptTokens / 1000) * msPer1kTokens;
}
