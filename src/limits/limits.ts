import { startLimit, type Settings } from "../config/schema.js";
import { pairKey, splitPair } from "./pair-key.js";
import type { Clock } from "../util/clock.js";
import {
  acceptsLimit,
  admissionCap,
  initialLimit,
  onAdmitted,
  onCompleted,
  onConcurrencyRefused,
  onQuiet,
  type AdaptiveRules,
  type LimitState,
} from "./adaptive-limit.js";

export interface LimitChange {
  account: string;
  model: string;
  from: number;
  to: number;
  why: "1302" | "clean-run" | "recovery";
}

/** The current concurrency limit of every (account, model) pair, starting from settings and learning from outcomes. */
export class Limits {
  private readonly states = new Map<string, LimitState>();
  private readonly settings: Settings;
  private readonly onChange: (change: LimitChange) => void;
  private readonly now: () => number;
  private observer: ((account: string, model: string, state: LimitState) => void) | undefined;

  constructor(settings: Settings, onChange: (change: LimitChange) => void = () => {}, clock?: Pick<Clock, "now">) {
    this.settings = settings;
    this.onChange = onChange;
    this.now = clock ? () => clock.now() : () => 0;
  }

  /**
   * Called with every state changed here (not those replaced from elsewhere), e.g. to share it with other processes.
   */
  observe(observer: (account: string, model: string, state: LimitState) => void): void {
    this.observer = observer;
  }

  /**
   * Takes the state another process learned for the same account (the ceiling stays this one's) by the rule the
   * shared stores take it by (`acceptsLimit`): a raise only one step from a later epoch, a try under way here not
   * ended by a process that joined during it. One more check is this process's own: an older epoch than the one
   * here is a message overtaken by a later change (taking it would count a 1302 twice).
   */
  replace(account: string, model: string, state: LimitState): void {
    const before = this.get(account, model);
    if (state.epoch < before.epoch || !acceptsLimit(before, state)) return;
    this.states.set(pairKey(account, model), { ...state, ceiling: before.ceiling });
  }

  get(account: string, model: string): LimitState {
    const pair = pairKey(account, model);
    let state = this.states.get(pair);
    if (!state) {
      const configured = this.settings.models[model];
      const start = startLimit(this.settings, model);
      state = initialLimit(start, configured?.ceiling ?? start, this.settings.adaptive.increaseAfter, this.now());
      this.states.set(pair, state);
      return state;
    }
    const recovered = onQuiet(state, this.rules(model), this.now());
    if (recovered !== state) {
      this.states.set(pair, recovered);
      this.observer?.(account, model, recovered);
      this.onChange({ account, model, from: state.limit, to: recovered.limit, why: "recovery" });
    }
    return recovered;
  }

  limit(account: string, model: string): number {
    return this.get(account, model).limit;
  }

  /** How many requests of the pair may be in flight right now (slow start included). */
  cap(account: string, model: string): number {
    return admissionCap(this.get(account, model), this.rules(model));
  }

  admitted(account: string, model: string, inFlight: number): void {
    const state = this.get(account, model);
    const next = onAdmitted(state, inFlight);
    if (next === state) return;
    this.states.set(pairKey(account, model), next);
    this.observer?.(account, model, next);
  }

  refused(account: string, model: string, grantEpoch: number, othersInFlight: number): void {
    this.update(
      account,
      model,
      (s, rules) => onConcurrencyRefused(s, rules, grantEpoch, othersInFlight, this.now()),
      "1302",
    );
  }

  /**
   * A request granted at `grantEpoch` completed cleanly; `saturated`: the pair was at its limit when it was granted.
   */
  completed(account: string, model: string, saturated: boolean, grantEpoch: number): void {
    this.update(account, model, (s, rules) => onCompleted(s, rules, saturated, grantEpoch), "clean-run");
  }

  /** Learned limits that differ from where they started, for the state file and `status`. */
  entries(): Array<{ account: string; model: string; state: LimitState }> {
    return [...this.states].map(([pair, state]) => {
      return { ...splitPair(pair), state };
    });
  }

  /** Forgets what was learned (all, or one account and/or model): limits start again from settings. */
  reset(account?: string, model?: string): void {
    for (const pair of [...this.states.keys()]) {
      const { account: a, model: m } = splitPair(pair);
      if ((account === undefined || a === account) && (model === undefined || m === model)) this.states.delete(pair);
    }
  }

  /** Adopts a limit learned elsewhere (another process, a previous run). */
  adopt(account: string, model: string, limit: number, probeAfter?: number): void {
    const state = this.get(account, model);
    const clamped = Math.max(1, Math.min(limit, state.ceiling));
    // A limit learned elsewhere was admitted there: no slow start up to it. Our own try one higher above the same
    // proven level goes on.
    if (clamped !== (state.probeFrom ?? state.limit)) {
      const adopted = {
        ...state,
        limit: clamped,
        confirmed: clamped,
        streak: 0,
        probeFrom: undefined,
        recoverTo: undefined,
        epoch: state.epoch + 1,
        changedAt: this.now(),
      };
      this.states.set(pairKey(account, model), adopted);
      this.observer?.(account, model, adopted);
    }
    // Tries one higher that were refused elsewhere make this process wait as long before its own.
    const current = this.get(account, model);
    if (probeAfter !== undefined && probeAfter > current.probeAfter && current.epoch > 0) {
      const patient = { ...current, probeAfter };
      this.states.set(pairKey(account, model), patient);
      this.observer?.(account, model, patient);
    }
  }

  private rules(model: string): AdaptiveRules {
    const { adaptive } = this.settings;
    return {
      enabled: this.settings.models[model]?.adaptive ?? adaptive.enabled,
      decreaseFactor: adaptive.decreaseFactor,
      increaseAfter: adaptive.increaseAfter,
      recoverAfterMs: adaptive.recoverAfterMs,
    };
  }

  private update(
    account: string,
    model: string,
    step: (s: LimitState, r: AdaptiveRules) => LimitState,
    why: LimitChange["why"],
  ): void {
    const before = this.get(account, model);
    const after = step(before, this.rules(model));
    if (after === before) return;
    this.states.set(pairKey(account, model), after);
    this.observer?.(account, model, after);
    if (after.limit !== before.limit) this.onChange({ account, model, from: before.limit, to: after.limit, why });
  }
}
