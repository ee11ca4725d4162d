import type { Clock } from "../util/clock.js";

/**
 * The time one request may spend inside the 2.x HTTP hooks, kept below the host's header timeout
 * (packages/ai/src/schema/options.ts `headerTimeout`, 300 000 ms, covers http.request + send + http.response).
 * Its signal aborts the lifecycle's waits when the budget is spent; `stop()` disarms it once the answer is known,
 * so a body streamed afterwards is never cut by it.
 */
export class Budget {
  private readonly controller = new AbortController();
  private readonly cancel: () => void;
  expired = false;

  constructor(clock: Clock, ms: number) {
    this.cancel = clock.setTimer(() => {
      this.expired = true;
      this.controller.abort(new Error(`request budget of ${ms} ms spent`));
    }, ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(): void {
    this.cancel();
  }
}
