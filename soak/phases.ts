/** The two phases' workloads: agents sending requests one after the other through the OpenCode-like caller. */
import { setTimeout as delay } from "node:timers/promises";
import { callLikeOpenCode, type CallerHooks, type Cancel, type Plan, type Settled } from "./caller.js";

export interface PhaseSpec {
  name: string;
  agents: number;
  perAgent: number;
  /** Plan of the i-th request, from the seeded generator. */
  plan(id: number, random: () => number): Plan;
  /** No new request starts after this long (the soak's time bound). */
  maxMs: number;
}

export interface PhaseResult {
  name: string;
  requests: number;
  endings: Record<Settled["ending"] | "hung", number>;
  /** Reasons of requests given back, with counts. */
  givenBack: Record<string, number>;
  attempts: number;
  ms: number;
}

/** A request not settled after this long is counted as hung (it never settles in practice). */
const WATCHDOG_MS = 60_000;

export async function runPhase(
  spec: PhaseSpec,
  random: () => number,
  fetch: typeof globalThis.fetch,
  url: string,
  hooks: CallerHooks,
): Promise<PhaseResult> {
  const plans = Array.from({ length: spec.agents * spec.perAgent }, (_, i) => spec.plan(i, random));
  const result: PhaseResult = {
    name: spec.name,
    requests: 0,
    endings: { answered: 0, "given-back": 0, cancelled: 0, aborted: 0, hung: 0 },
    givenBack: {},
    attempts: 0,
    ms: 0,
  };
  const started = Date.now();
  const agent = async (a: number): Promise<void> => {
    for (let i = 0; i < spec.perAgent; i++) {
      if (Date.now() - started > spec.maxMs) return;
      const plan = plans[a * spec.perAgent + i]!;
      result.requests++;
      const watchdog = new AbortController();
      const hung = delay(WATCHDOG_MS, "hung" as const, { signal: watchdog.signal }).catch(() => "stopped" as const);
      const settled = await Promise.race([callLikeOpenCode(fetch, url, plan, hooks), hung]);
      watchdog.abort();
      if (settled === "hung" || settled === "stopped") {
        result.endings.hung++;
        continue;
      }
      result.endings[settled.ending]++;
      result.attempts += settled.attempts;
      if (settled.ending === "given-back")
        result.givenBack[settled.reason] = (result.givenBack[settled.reason] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: spec.agents }, (_, a) => agent(a)));
  result.ms = Date.now() - started;
  return result;
}

const pick = <T>(random: () => number, table: ReadonlyArray<readonly [number, T]>): T => {
  let draw = random();
  for (const [p, value] of table) {
    if (draw < p) return value;
    draw -= p;
  }
  return table[table.length - 1]![1];
};

/** Fault phase: every fault on; some requests not streamed; a few aborted at any time or cancelled. */
export const faultPhase = (maxMs: number): PhaseSpec => ({
  name: "faults",
  agents: 16,
  perAgent: 60,
  maxMs,
  plan: (id, random) => ({
    id,
    model: random() < 0.75 ? "glm-4.7" : "glm-4.5-air",
    stream: random() < 0.8,
    cancel: pick<Cancel>(random, [
      [0.9, "none"],
      [0.05, "abort-any-time"],
      [0.05, "reader-cancel"],
    ]),
    abortAfterMs: Math.floor(random() * 80),
  }),
});

/** Cancel phase: no injected fault; half of the streams cancelled or aborted after their first chunk. */
export const cancelPhase = (maxMs: number): PhaseSpec => ({
  name: "cancels",
  agents: 16,
  perAgent: 50,
  maxMs,
  plan: (id, random) => ({
    id,
    model: random() < 0.75 ? "glm-4.7" : "glm-4.5-air",
    stream: true,
    cancel: pick<Cancel>(random, [
      [0.5, "none"],
      [0.25, "reader-cancel"],
      [0.25, "abort-mid-stream"],
    ]),
    abortAfterMs: 0,
  }),
});
