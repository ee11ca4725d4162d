/**
 * Z.AI notices a closed client connection late: the request stays counted in flight for a moment. This delays the
 * release of a slot whose client went away by a seeded random time in [minMs, maxMs].
 */
import type { CloseNotice } from "./types.js";

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class CloseNoticeError extends Error {
  override readonly name = "CloseNoticeError";
}

export function checkCloseNotice(option: string, value: unknown): CloseNotice {
  const v = value as Partial<CloseNotice> | null;
  const ok =
    typeof v === "object" &&
    v !== null &&
    typeof v.minMs === "number" &&
    typeof v.maxMs === "number" &&
    v.minMs >= 0 &&
    v.maxMs >= v.minMs &&
    (v.seed === undefined || Number.isInteger(v.seed));
  if (!ok)
    throw new CloseNoticeError(`${option} must be { minMs >= 0, maxMs >= minMs, seed? }, got ${JSON.stringify(value)}`);
  return v as CloseNotice;
}

export class LateRelease {
  #notice: CloseNotice | null = null;
  #random: () => number = Math.random;
  readonly #timers = new Map<NodeJS.Timeout, () => void>();

  constructor(notice: CloseNotice | undefined) {
    this.set(notice ?? null);
  }

  set(notice: CloseNotice | null): void {
    this.#notice = notice === null ? null : checkCloseNotice("closeNotice", notice);
    this.#random = seededRandom(notice?.seed ?? 1);
  }

  /** Runs `release` after the notice delay (at once when none is configured). */
  later(release: () => void): void {
    const notice = this.#notice;
    if (notice === null || notice.maxMs <= 0) return release();
    const delay = notice.minMs + this.#random() * (notice.maxMs - notice.minMs);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      release();
    }, delay);
    this.#timers.set(timer, release);
  }

  /** Releases everything still pending at once (the server is closing). */
  flush(): void {
    const pending = [...this.#timers];
    this.#timers.clear();
    for (const [timer, release] of pending) {
      clearTimeout(timer);
      release();
    }
  }
}
