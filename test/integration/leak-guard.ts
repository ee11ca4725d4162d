/**
 * The integration tests' leak guard: after each test, every plugin fetch built by setup() must have no slot held,
 * no request queued for a slot and no timer left on its clock (beyond the state-sync timer when a state file is on).
 * A leak fails the test that caused it, naming what was left, instead of showing up later as a time-out.
 */
import type { FetchEvent, ZaiFetch } from "../../src/lib.js";
import type { FakeClock } from "../helpers/fake-clock.js";

export interface Guarded {
  fetch: unknown;
  clock: FakeClock;
  events: readonly FetchEvent[];
  /** Timers that may stay (the state file's periodic sync). */
  allowedTimers: number;
  /** Answers handed to the test: bodies it never read are cancelled first, as OpenCode would on giving up. */
  responses: Response[];
}

const NO_MODEL = "(none)";

/** What a finished test left behind in one plugin instance; [] when clean. */
export function leftovers(env: Guarded): string[] {
  const zai = env.fetch as Partial<ZaiFetch>;
  if (zai.leases === undefined || zai.pool === undefined) return []; // a refusing fetch (bad config): nothing to hold
  const { leases, pool } = zai as ZaiFetch;
  // Wake-ups at the end of cooldowns are state, not leaks; slots in their cancel grace are handed on by close().
  leases.close();
  const out: string[] = [];
  const held = leases.totalInFlight();
  if (held > 0) {
    const models = new Set<string>([NO_MODEL]);
    for (const event of env.events) if ("model" in event) models.add(event.model);
    const named = pool.accounts.flatMap((a) =>
      [...models].flatMap((m) => (leases.inFlight(a, m) > 0 ? [`${a}/${m}`] : [])),
    );
    out.push(`${held} slot(s) held${named.length > 0 ? ` on ${named.join(", ")}` : ""}`);
  }
  const waiting = leases.waiting();
  if (waiting > 0) out.push(`${waiting} request(s) still queued for a slot`);
  const timers = env.clock.pendingTimers() - env.allowedTimers;
  if (timers > 0) out.push(`${timers} timer(s) still pending on the clock`);
  return out;
}

/** Cancels the bodies nobody read (a test that only looks at the status is not a leak in the plugin). */
async function cancelUnread(env: Guarded): Promise<void> {
  await Promise.all(
    env.responses
      .splice(0)
      .map((r) => (r.bodyUsed || r.body === null || r.body.locked ? undefined : r.body.cancel().catch(() => {}))),
  );
}

/** Checks and forgets every instance; throws one error naming all leftovers. */
export async function checkLeaks(live: Guarded[]): Promise<void> {
  const envs = live.splice(0);
  for (const env of envs) await cancelUnread(env);
  const problems = envs.flatMap(leftovers);
  if (problems.length > 0) throw new Error(`leak guard: the test left ${problems.join("; ")}`);
}
