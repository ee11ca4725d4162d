/** A forced garbage collection: `global.gc` under --expose-gc, else V8's flag set at runtime. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let cached: (() => void) | undefined;

export function gcFunction(): () => void {
  if (cached) return cached;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return (cached = exposed);
  setFlagsFromString("--expose-gc");
  return (cached = runInNewContext("gc") as () => void);
}

/** Heap in use after settling pending callbacks and collecting twice. */
export async function settledHeap(): Promise<number> {
  const gc = gcFunction();
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
