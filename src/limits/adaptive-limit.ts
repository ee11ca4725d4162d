/**
 * Learning one (account, model) concurrency limit from 1302 answers. Pure: state in, state out.
 * - On a 1302 above anything Z.AI admitted (a limit configured too high): multiplicative decrease, to no more than
 *   was in flight and no less than Z.AI admitted. At a level Z.AI had admitted (it lowered the limit for a while, or
 *   counts ran ahead of its own): down to what was in flight (one step when the account was full). Never below 1; a
 *   1302 at a count the limit already forbids changes nothing.
 * - Additive increase (+1) after a run of clean completions at full use, up to the ceiling. The new level counts as
 *   proven after a few clean completions at it, not one (a slot freed at Z.AI a moment before the plugin saw the end
 *   of its stream lets one request too many through now and then). A 1302 before that reverts the increase, and
 *   makes the next try wait four times as long.
 * - After a drop from a proven level, climbing back to that level is tried four times as often, so capacity
 *   returns soon after Z.AI restores it.
 * - Slow start: at most one request above the highest count Z.AI has admitted, so a limit configured too high costs
 *   one 1302, not a burst of them.
 * - Recovery over time: a limit below its ceiling is tried one higher after `recoverAfterMs` without a change
 *   (Z.AI changes limits by time of day), so one bad hour does not keep an account slow for days.
 */

export interface LimitState {
  limit: number;
  /** Upper bound for increases. */
  ceiling: number;
  /**
   * Clean completions at this level (only those granted while the limit was fully used): the first PROOF_COMPLETIONS
   * prove it, and all count toward the next increase.
   */
  streak: number;
  /** Bumped on every change; a 1302 for a request granted in an older epoch is not counted again. */
  epoch: number;
  /** The most requests in flight that Z.AI has admitted at once. */
  confirmed: number;
  /** The limit before the last increase, while that increase is unproven. */
  probeFrom: number | undefined;
  /** Clean completions needed before the next increase. */
  probeAfter: number;
  /** A proven level the limit dropped from: climbing back up to it is tried often. */
  recoverTo: number | undefined;
  /** When the limit last went down or was last raised by time (ms; 0 = never). */
  changedAt: number;
}

export interface AdaptiveRules {
  enabled: boolean;
  decreaseFactor: number;
  increaseAfter: number;
  /** 0 disables recovery over time. */
  recoverAfterMs: number;
}

/** A failed increase makes the next one wait this many times longer, up to MAX_PROBE_BACKOFF × `increaseAfter`. */
const PROBE_BACKOFF = 4;
const MAX_PROBE_BACKOFF = 64;
/** Below a proven level, increases are tried this many times as often. */
const RECOVERY_SPEEDUP = 4;
/**
 * Clean completions at full use that prove a level: a try one higher is kept, and a level a 1302 later lowers is
 * climbed back to soon.
 */
export const PROOF_COMPLETIONS = 3;

export function initialLimit(start: number, ceiling: number, increaseAfter = 20, now = 0): LimitState {
  return {
    limit: start,
    ceiling: Math.max(start, ceiling),
    streak: 0,
    epoch: 0,
    confirmed: 0,
    probeFrom: undefined,
    probeAfter: increaseAfter,
    recoverTo: undefined,
    changedAt: now,
  };
}

/** The level proven so far: the limit, or while a try one higher is under way, the level it started from. */
export function provenLevel(state: LimitState): number {
  return state.probeFrom ?? state.limit;
}

/**
 * `incoming` is one below `known` at the same epoch: what `withoutTry` gives a process that joined while `known`'s try
 * was under way (or just proven). Not to be taken over it (it would end the try without an outcome, or undo its
 * proof): every change of a limit comes with a new epoch, a refused try included.
 */
export function withdrawsTry(known: LimitState, incoming: LimitState): boolean {
  return incoming.epoch === known.epoch && incoming.probeFrom === undefined && incoming.limit === known.limit - 1;
}

/**
 * Whether a published limit replaces the pair's latest known one. Lower or equal always; higher only by one step and
 * from a later epoch: learning raises a limit one at a time (a try one higher, recovery over time), from the state it
 * took from the others, so anything else comes from a process that had not heard of the latest (still on the
 * configured limit, or completing under a try refused meanwhile); taken, it would lift the cap every process's grants
 * obey (measured: the 1302s of a limit configured 10 with a real 3 across three processes).
 */
export function acceptsLimit(known: LimitState | undefined, incoming: LimitState): boolean {
  if (known === undefined) return true;
  // A process that joined during a try starts one below it at the same epoch; that is not the try's outcome.
  if (withdrawsTry(known, incoming)) return false;
  if (incoming.limit <= known.limit) return true;
  // A raise: one step, from a state that has seen the known one (epochs travel with the states processes take from
  // each other). A process completing under a try one higher that was refused meanwhile would re-publish the try.
  return incoming.limit === known.limit + 1 && incoming.epoch > known.epoch;
}

/** The state without a try under way (for a process joining later: whoever made the try may be gone). */
export function withoutTry(state: LimitState): LimitState {
  if (state.probeFrom === undefined) return state;
  return {
    ...state,
    limit: state.probeFrom,
    probeFrom: undefined,
    streak: PROOF_COMPLETIONS,
    confirmed: Math.min(state.confirmed, state.probeFrom),
  };
}

/**
 * Time passed without a 1302 or a change: a limit below its ceiling is tried one higher. Steps taken this way stay
 * unproven (a 1302 reverts to the last proven level) until clean completions at the limit prove them. Called before
 * the state is used.
 */
export function onQuiet(state: LimitState, rules: AdaptiveRules, now: number): LimitState {
  if (!rules.enabled || rules.recoverAfterMs <= 0 || state.limit >= state.ceiling) return state;
  if (now - state.changedAt < rules.recoverAfterMs) return state;
  return {
    ...state,
    limit: state.limit + 1,
    probeFrom: state.probeFrom ?? state.limit,
    streak: 0,
    epoch: state.epoch + 1,
    changedAt: now,
  };
}

/** How many may be in flight now: the limit, and while learning, one above what has been admitted. */
export function admissionCap(state: LimitState, rules: AdaptiveRules): number {
  return rules.enabled ? Math.min(state.limit, state.confirmed + 1) : state.limit;
}

/** Z.AI admitted a request sent with `inFlight` of the pair in flight (itself included). */
export function onAdmitted(state: LimitState, inFlight: number): LimitState {
  return inFlight > state.confirmed ? { ...state, confirmed: Math.min(inFlight, state.limit) } : state;
}

/**
 * A 1302 came back. `othersInFlight` is how many other requests of the pair were in flight when the
 * refused one was sent: the real limit is at most that, so the new limit is never above it.
 */
export function onConcurrencyRefused(
  state: LimitState,
  rules: AdaptiveRules,
  grantEpoch: number,
  othersInFlight: number,
  now = state.changedAt,
): LimitState {
  if (!rules.enabled || grantEpoch < state.epoch) return state;
  // Refused with at least the limit's worth of others in flight: granted above the limit (by another process's
  // try, or a cap that changed meanwhile). It says nothing the limit does not already say.
  if (othersInFlight >= state.limit) return state;
  const step =
    state.probeFrom !== undefined
      ? failedTry(state, rules)
      : state.confirmed >= state.limit
        ? admittedLevelRefused(state, rules, othersInFlight)
        : limitFound(state, rules, othersInFlight);
  const limit = Math.max(1, step.limit);
  // Back from a failed try, the level is the one proven before it; any other step lands on a level still to prove.
  const streak = state.probeFrom !== undefined ? PROOF_COMPLETIONS : 0;
  const next = { ...state, ...step, limit, streak, probeFrom: undefined, confirmed: Math.min(state.confirmed, limit) };
  return limit === state.limit ? next : { ...next, epoch: state.epoch + 1, changedAt: now };
}

type RefusalStep = Pick<LimitState, "limit" | "probeAfter" | "recoverTo">;

/**
 * The last increase was refused: undo it. Below a proven level keep trying often, above it wait longer. A try that
 * reached the level to climb back to and was refused says that level is gone (or was never real): stop hurrying.
 * Back to the level proven before, whatever the counts: they were taken at the grant, and a request granted earlier
 * can reach Z.AI after the try did and be the one refused.
 */
function failedTry(state: LimitState, rules: AdaptiveRules): RefusalStep {
  const hurry = state.recoverTo !== undefined && state.limit < state.recoverTo;
  const reached = state.recoverTo !== undefined && state.limit >= state.recoverTo;
  return {
    limit: state.probeFrom ?? state.limit,
    probeAfter: hurry ? hurried(rules) : backedOff(state, rules),
    recoverTo: reached ? undefined : state.recoverTo,
  };
}

/**
 * Refused at a level Z.AI had admitted: it lowered the limit, or counts ran ahead of its own (a slot freed there
 * before the plugin saw its stream end; across processes a later grant can arrive first). Down to what was in flight
 * when the refused request was granted (one step when the account was full), not halved: a false drop then costs no
 * more than that step. A level proven by clean completions is remembered and climbed back to soon; one only admitted
 * (by counts that ran ahead, typically at start-up) is left like a found limit.
 */
function admittedLevelRefused(state: LimitState, rules: AdaptiveRules, othersInFlight: number): RefusalStep {
  if (state.streak < PROOF_COMPLETIONS)
    return { limit: othersInFlight, probeAfter: backedOff(state, rules), recoverTo: state.recoverTo };
  return { limit: othersInFlight, probeAfter: hurried(rules), recoverTo: Math.max(state.recoverTo ?? 0, state.limit) };
}

/**
 * Refused above anything admitted so far (a limit configured too high): the real limit is found, at most what was in
 * flight, and not below what Z.AI admitted (a refusal counted below that came from a request that reached Z.AI after
 * the one-higher try of the slow start did).
 */
function limitFound(state: LimitState, rules: AdaptiveRules, othersInFlight: number): RefusalStep {
  const limit = Math.max(state.confirmed, Math.min(Math.floor(state.limit * rules.decreaseFactor), othersInFlight));
  return { limit, probeAfter: backedOff(state, rules), recoverTo: state.recoverTo };
}

function hurried(rules: AdaptiveRules): number {
  return Math.max(1, Math.ceil(rules.increaseAfter / RECOVERY_SPEEDUP));
}

function backedOff(state: LimitState, rules: AdaptiveRules): number {
  return Math.min(state.probeAfter * PROBE_BACKOFF, rules.increaseAfter * MAX_PROBE_BACKOFF);
}

/**
 * A request completed cleanly. `saturated`: the pair was at its limit when it was granted; `grantEpoch`: the limit's
 * epoch then (a request granted before the last change says nothing about the level now: a try one higher is not
 * proven by requests sent under the level below). The first PROOF_COMPLETIONS such completions at a level prove it (a
 * try one higher is kept; a level at the ceiling too); all of them count toward the next increase.
 */
export function onCompleted(
  state: LimitState,
  rules: AdaptiveRules,
  saturated: boolean,
  grantEpoch = state.epoch,
): LimitState {
  if (!rules.enabled || !saturated || grantEpoch !== state.epoch) return state;
  const streak = state.streak + 1;
  if (state.probeFrom !== undefined) {
    if (streak < PROOF_COMPLETIONS) return { ...state, streak };
    const recovering = state.recoverTo !== undefined && state.limit < state.recoverTo;
    return {
      ...state,
      streak,
      probeFrom: undefined,
      recoverTo: recovering ? state.recoverTo : undefined,
      probeAfter: recovering ? hurried(rules) : rules.increaseAfter,
    };
  }
  if (state.limit >= state.ceiling) return state.streak >= PROOF_COMPLETIONS ? state : { ...state, streak };
  if (streak < state.probeAfter) return { ...state, streak };
  return { ...state, limit: state.limit + 1, streak: 0, epoch: state.epoch + 1, probeFrom: state.limit };
}
