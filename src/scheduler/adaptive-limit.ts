/**
 * Learning one (account, model) concurrency limit from 1302 answers: multiplicative decrease on a 1302,
 * additive increase after a run of clean completions at full use. Pure: state in, state out.
 */

export interface LimitState {
  limit: number;
  /** Upper bound for increases. */
  ceiling: number;
  /** Clean completions counted toward the next increase (only those granted while the limit was fully used). */
  streak: number;
  /** Bumped on every change; a 1302 for a request granted in an older epoch is not counted again. */
  epoch: number;
}

export interface AdaptiveRules {
  enabled: boolean;
  decreaseFactor: number;
  increaseAfter: number;
}

export function initialLimit(start: number, ceiling: number): LimitState {
  return { limit: start, ceiling: Math.max(start, ceiling), streak: 0, epoch: 0 };
}

/**
 * A 1302 came back. `othersInFlight` is how many other requests of the pair were in flight when the
 * refused one was sent: the real limit is at most that, so the new limit is never above it.
 * A refusal for a request granted before the last change (`grantEpoch < epoch`) says nothing new.
 */
export function onConcurrencyRefused(state: LimitState, rules: AdaptiveRules, grantEpoch: number, othersInFlight: number): LimitState {
  if (!rules.enabled || grantEpoch < state.epoch) return state;
  const halved = Math.floor(state.limit * rules.decreaseFactor);
  const limit = Math.max(1, Math.min(halved, Math.max(othersInFlight, 1)));
  if (limit === state.limit) return { ...state, streak: 0 };
  return { ...state, limit, streak: 0, epoch: state.epoch + 1 };
}

/** A request completed cleanly. `saturated`: the pair was at its limit when it was granted. */
export function onCompleted(state: LimitState, rules: AdaptiveRules, saturated: boolean): LimitState {
  if (!rules.enabled || !saturated || state.limit >= state.ceiling) return state;
  const streak = state.streak + 1;
  if (streak < rules.increaseAfter) return { ...state, streak };
  return { ...state, limit: state.limit + 1, streak: 0, epoch: state.epoch + 1 };
}
