import type { ApiKey } from "../config/keys.js";
import type { Clock } from "../util/clock.js";
import { isStateError } from "./errors.js";
import { stateIds } from "./ids.js";
import type { LockOptions } from "./lock.js";
import { fileStateStore, type StateStore } from "./state-store.js";
import { applyToMemory, snapshotMemory, type LimitsView, type PoolView } from "./memory.js";
import { mergeState, sameJson } from "./merge.js";
import { emptyProviderState, type ProviderState } from "./state-schema.js";
import type { StateFs } from "./state-fs.js";
import { contentOf, type ReadResult } from "./store.js";

export interface StateSyncOptions {
  /** The OpenCode provider id; each provider has its own section of the file. */
  provider: string;
  pool: PoolView;
  limits: LimitsView;
  /** The configured keys (to translate fingerprints to key ids). Defaults to `pool.keys`. */
  keys?: readonly ApiKey[];
  clock: Clock;
  /** The state file, or undefined to keep state in memory only (see `stateFilePath`). Ignored when `store` is given. */
  path: string | undefined;
  /** Somewhere else than the state file (Redis: `redisStateStore`). */
  store?: StateStore;
  /** File problems, as messages naming the file. Called at most once per distinct problem in a row. */
  onWarning: (message: string) => void;
  /** Scrubs key material from what is written (reasons quote upstream text). Default: nothing to scrub. */
  redact?: (text: string) => string;
  /** Called after a sync changed the pool or the limits (another process's cooldown arrived, a reset cleared one). */
  onChange?: () => void;
  /** Called after a sync wrote something new to the store (to tell the other processes at once). */
  onWritten?: () => void;
  /** Time between background syncs. */
  intervalMs?: number;
  fs?: StateFs;
  lock?: LockOptions;
}

export interface StateSync {
  /** Lock → read → merge both ways → write if changed → unlock. Never rejects; problems go to onWarning. */
  syncNow(): Promise<void>;
  /**
   * For the request path: syncs now only if no other sync is queued and the lock is free at once; otherwise leaves
   * it to a background sync right after. Never waits for a lock. Never rejects.
   */
  syncSoon(): Promise<void>;
  /** Stops the timer and syncs one last time. */
  close(): Promise<void>;
}

export const DEFAULT_SYNC_INTERVAL_MS = 2_000;

/**
 * Shares one provider's pool state with other processes through the state file: loads it now (applying it to
 * the pool), then merges both ways every `intervalMs`, off the request path. File errors become warnings.
 */
export async function attachStateSync(options: StateSyncOptions): Promise<StateSync> {
  const { provider, pool, limits, clock, path, onWarning } = options;
  const store =
    options.store ?? (path === undefined ? undefined : fileStateStore(path, clock, options.fs, options.lock));
  if (store === undefined) return { syncNow: async () => {}, syncSoon: async () => {}, close: async () => {} };
  const ids = stateIds(options.keys ?? pool.keys);
  const intervalMs = options.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  /** What memory held right after the last merge, with the times the file gave its entries. */
  let base: ProviderState = emptyProviderState();
  let lastWarning: string | undefined;
  let running: Promise<void> = Promise.resolve();
  let cancelTimer: (() => void) | undefined;
  let closed = false;
  let first = true;
  let changed = false;
  /** The running sync's merge produced new content for the store. */
  let writing = false;

  const warn = (message: string) => {
    if (message !== lastWarning) onWarning(message);
    lastWarning = message;
  };

  /** Runs inside the lock, synchronously: memory cannot change between snapshot and apply. */
  const merge = (read: ReadResult) => {
    if (read.kind === "corrupt") warn(`${store.name} is corrupt (${read.problem}); starting fresh`);
    if (read.kind === "unreadable") warn(`${read.problem}; keeping state in memory only`);
    const file = contentOf(read);
    const fromFile = file.providers[provider] ?? emptyProviderState();
    const now = clock.now();
    const memory = snapshotMemory(pool, limits, ids, base, now);
    const merged = mergeState(fromFile, memory, now, base);
    applyToMemory(merged, pool, limits, ids);
    base = snapshotMemory(pool, limits, ids, merged, now);
    if (!sameJson(memory, base)) changed = true;
    const inFile = read.kind === "ok" && file.providers[provider] !== undefined;
    const unchanged = inFile ? sameJson(merged, fromFile) : read.kind !== "corrupt" && isEmpty(merged);
    if (unchanged) return undefined;
    const clean = options.redact ? (JSON.parse(options.redact(JSON.stringify(merged))) as ProviderState) : merged;
    writing = read.kind !== "unreadable";
    return { ...file, providers: { ...file.providers, [provider]: clean } };
  };

  /** Returns false when `tryOnly` and the lock was held by someone else (nothing was done). */
  const syncOnce = async (tryOnly: boolean): Promise<boolean> => {
    changed = false;
    writing = false;
    try {
      const read = await store.update(merge, { tryOnly, first });
      if (read === "busy") return false;
      first = false;
      if (read.kind === "ok" || read.kind === "missing") lastWarning = undefined;
      if (writing) options.onWritten?.();
    } catch (error) {
      warn(
        isStateError(error)
          ? error.message
          : `${store.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!changed) return true;
    try {
      options.onChange?.();
    } catch (error) {
      warn(`state sync onChange failed: ${String(error)}`);
    }
    return true;
  };

  /** Syncs queued or running; a change made meanwhile may have missed the running one's snapshot. */
  /** Syncs queued or running that may wait for the lock. */
  let blocking = 0;
  let again = false;
  const run = (tryOnly: boolean): Promise<boolean> => {
    if (!tryOnly) blocking++;
    const done = running.then(() => syncOnce(tryOnly));
    running = done.then(
      () => {},
      () => {},
    );
    return done.finally(() => {
      if (!tryOnly) blocking--;
      if (blocking === 0 && again) {
        again = false;
        void syncNow();
      }
    });
  };

  const syncNow = () => run(false).then(() => {});

  const syncSoon = async () => {
    if (blocking > 0) {
      // A sync that may wait for the lock is queued or running (it may have read memory before this change):
      // one more runs after it, in the background.
      again = true;
      return;
    }
    if (!(await run(true))) void syncNow();
  };

  const schedule = () => {
    if (closed) return;
    cancelTimer = clock.setTimer(() => {
      void syncNow().then(schedule);
    }, intervalMs);
  };

  await syncNow();
  schedule();
  // Another machine's cooldown or disabled key arrives at once, not at the next round.
  store.onRemoteChange?.(() => {
    if (!closed) void syncSoon();
  });
  return {
    syncNow,
    syncSoon,
    close: async () => {
      closed = true;
      cancelTimer?.();
      await syncNow();
      await store.close?.();
    },
  };
}

function isEmpty(state: ProviderState): boolean {
  return sameJson(state, emptyProviderState());
}
