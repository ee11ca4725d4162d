import type { Clock } from "../../src/lib.js";

interface Timer {
  at: number;
  fn: () => void;
  id: number;
}

/**
 * A clock tests drive. `sleep` records the delay asked for; with `autoAdvance` it moves time forward
 * at once (running due timers) so code that backs off completes without waiting.
 */
export class FakeClock implements Clock {
  private time: number;
  private timers: Timer[] = [];
  private nextId = 0;
  readonly sleeps: number[] = [];
  autoAdvance: boolean;

  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0), options: { autoAdvance?: boolean } = {}) {
    this.time = start;
    this.autoAdvance = options.autoAdvance ?? true;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.autoAdvance) {
      this.advance(ms);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const cancel = this.setTimer(resolve, ms);
      signal?.addEventListener("abort", () => {
        cancel();
        reject(signal.reason);
      });
    });
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer = { at: this.time + Math.max(0, ms), fn, id: this.nextId++ };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, running timers that come due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}
