/**
 * The real capacity of the simulated upstream over time (slots summed over accounts) and the efficiency
 * measure used by S1–S3: work done (requests × stream time) ÷ capacity offered (∫ slots dt) until the end of
 * the run. With a constant capacity that is exactly ideal time ÷ actual time.
 */

/** Piecewise constant: `slots` from `fromMs` on (the first phase starts at 0). */
export type CapacityPlan = ReadonlyArray<{ fromMs: number; slots: number }>;

export function capacityIntegral(plan: CapacityPlan, untilMs: number): number {
  let total = 0;
  for (let i = 0; i < plan.length; i++) {
    const phase = plan[i]!;
    const end = Math.min(untilMs, plan[i + 1]?.fromMs ?? Number.POSITIVE_INFINITY);
    if (end > phase.fromMs) total += (end - phase.fromMs) * phase.slots;
  }
  return total;
}

export function efficiency(completed: number, streamMs: number, plan: CapacityPlan, wallMs: number): number {
  const offered = capacityIntegral(plan, wallMs);
  return offered === 0 ? Number.NaN : (completed * streamMs) / offered;
}

/**
 * The ideal run time T of `workMs` (slot-milliseconds) when the capacity follows `phases`, given as fractions
 * of T (so "halfway through" means T/2), and the plan in milliseconds.
 */
export function idealPlan(
  workMs: number,
  phases: ReadonlyArray<{ from: number; slots: number }>,
): { idealMs: number; plan: CapacityPlan } {
  let perT = 0;
  for (let i = 0; i < phases.length; i++) {
    const phase = phases[i]!;
    perT += ((phases[i + 1]?.from ?? 1) - phase.from) * phase.slots;
  }
  const idealMs = workMs / perT;
  return { idealMs, plan: phases.map((p) => ({ fromMs: p.from * idealMs, slots: p.slots })) };
}
