/** Heap samples over the run (after forced collections): flat means the last third is not above the first. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

export class HeapSampler {
  readonly samples: number[] = [];
  readonly #gc = gcFunction();

  /** Heap in use after settling pending callbacks and collecting twice. */
  async sample(): Promise<number> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    this.#gc();
    this.#gc();
    const used = process.memoryUsage().heapUsed;
    this.samples.push(used);
    return used;
  }

  /** Median of the first and of the last third of the samples, and the growth between them. */
  verdict(): { firstMb: number; lastMb: number; growthMb: number; growthPct: number; flat: boolean } {
    const third = Math.max(1, Math.floor(this.samples.length / 3));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const first = median(this.samples.slice(0, third));
    const last = median(this.samples.slice(-third));
    const growth = last - first;
    const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
    // Flat: growth under 15% of the start and under 4 MB (a leak of one object per request grows without bound).
    return {
      firstMb: mb(first),
      lastMb: mb(last),
      growthMb: mb(growth),
      growthPct: first > 0 ? Math.round((growth / first) * 1000) / 10 : 0,
      flat: growth < Math.max(4 * 1048576, 0.15 * first),
    };
  }
}
