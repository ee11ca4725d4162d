import { pairKey } from "../limits/pair-key.js";
import { candidateSet, valuesOf, type Pending } from "./redis-status.js";

/** What one `updateWaiters` script sends: the caps that changed (as many triples), then the waiters that moved. */
export interface WaiterChanges {
  capCount: number;
  args: Array<string | number>;
}

/**
 * What this process last told Redis about its waiters: its cap per (account, model), shared by all its waiters, and
 * each waiter's candidate set. Only changes are sent again: a script per process and poke, not per waiter.
 */
export class RedisTold {
  private readonly caps = new Map<string, number>();

  /** Records what an acquire sends; true when Redis already has every cap it names. */
  acquire(pending: Pending, values: { cands: string[]; caps: number[] }): boolean {
    pending.sent = candidateSet(values.cands);
    const { model } = pending.request;
    const known = values.cands.every((a, i) => this.caps.get(pairKey(a, model)) === values.caps[i]);
    for (const [i, a] of values.cands.entries()) this.caps.set(pairKey(a, model), values.caps[i] ?? 0);
    return known;
  }

  /** What changed since last told, for one script; waiters left without a candidate go to `noCandidates`. */
  changes(pendings: Iterable<Pending>, noCandidates: (pending: Pending) => void): WaiterChanges | undefined {
    const caps = new Map<string, [string, string, number]>();
    const moved: string[] = [];
    for (const pending of pendings) {
      const values = valuesOf(pending.request);
      if (!values) {
        noCandidates(pending);
        continue;
      }
      const { model } = pending.request;
      for (const [i, a] of values.cands.entries()) {
        const cap = values.caps[i] ?? 0;
        const key = pairKey(a, model);
        if (this.caps.get(key) !== cap) caps.set(key, [a, model, cap]);
      }
      const set = candidateSet(values.cands);
      if (set === pending.sent) continue;
      pending.sent = set;
      moved.push(pending.id, model, values.cands.join("\n"));
    }
    if (caps.size === 0 && moved.length === 0) return undefined;
    for (const [key, [, , cap]] of caps) this.caps.set(key, cap);
    return { capCount: caps.size, args: [...[...caps.values()].flat(), ...moved] };
  }

  /** Redis may have restarted empty: every cap (and the pairs it names) is sent again. */
  forget(): void {
    this.caps.clear();
  }
}
