import type { Clock } from "../util/clock.js";
import type { LockOptions } from "./lock.js";
import { nodeStateFs, type StateFs } from "./state-fs.js";
import type { StateFile } from "./state-schema.js";
import { StateLockTimeoutError } from "./errors.js";
import { updateStateFile, type ReadResult } from "./store.js";

/**
 * Where a StateSync merges the pool state: the state file (this machine), or Redis (every machine using it).
 * `update` reads, lets `change` compute the new content (undefined: leave it) and writes it, atomically against
 * other writers; "busy" when `tryOnly` and another writer is at it (nothing was done).
 */
export interface StateStore {
  /** For messages: "state file <path>", "shared state in Redis <url>". */
  readonly name: string;
  update(
    change: (read: ReadResult) => StateFile | undefined,
    options: { tryOnly: boolean; first: boolean },
  ): Promise<ReadResult | "busy">;
  /**
   * Tells when another process changed the store (Redis pub/sub; the state file's changes are announced over the
   * machine ledger).
   */
  onRemoteChange?(listener: () => void): void;
  close?(): Promise<void>;
}

/** The state file, under its lock. */
export function fileStateStore(path: string, clock: Clock, fs: StateFs = nodeStateFs, lock?: LockOptions): StateStore {
  return {
    name: `state file ${path}`,
    update: async (change, { tryOnly, first }) => {
      const options = tryOnly ? { ...lock, timeoutMs: 0 } : lock;
      try {
        return await updateStateFile(fs, path, clock, change, {
          cleanTemps: first,
          ...(options ? { lock: options } : {}),
        });
      } catch (error) {
        if (tryOnly && error instanceof StateLockTimeoutError) return "busy";
        throw error;
      }
    },
  };
}
