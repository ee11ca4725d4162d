import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Clock } from "../util/clock.js";
import { StateFileError, StateLockTimeoutError } from "./errors.js";
import type { StateFs } from "./state-fs.js";

export interface LockOptions {
  /** A lock older than this is left over from a crash and is broken. */
  staleMs?: number;
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** Pause between attempts. */
  pollMs?: number;
}

export const DEFAULT_LOCK_STALE_MS = 10_000;
const DEFAULT_LOCK_TIMEOUT_MS = 3_000;
const DEFAULT_POLL_MS = 15;

interface LockContent {
  pid: number;
  host: string;
  at: number;
  token: string;
}

/**
 * Runs `fn` while holding `<file>.lock`, a file created with O_EXCL that names its holder. A lock whose holder
 * died (same host, pid gone) or that is older than `staleMs` is broken. Throws StateLockTimeoutError when the
 * lock stays held past `timeoutMs`.
 */
export async function withLock<T>(
  fs: StateFs,
  lockPath: string,
  clock: Clock,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const release = await acquireLock(fs, lockPath, clock, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function acquireLock(
  fs: StateFs,
  lockPath: string,
  clock: Clock,
  options: LockOptions = {},
): Promise<() => Promise<void>> {
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const started = clock.now();
  for (;;) {
    const content: LockContent = { pid: process.pid, host: hostname(), at: clock.now(), token: randomUUID() };
    const text = JSON.stringify(content);
    let created: boolean;
    try {
      created = await fs.createExclusive(lockPath, text, 0o600);
    } catch (error) {
      throw new StateFileError(lockPath, "create lock file", { cause: error });
    }
    if (created) return () => releaseLock(fs, lockPath, text);
    const held = await fs.readFile(lockPath).catch(() => undefined);
    if (held !== undefined && (await isStale(fs, lockPath, held, clock.now(), staleMs))) {
      // Re-read right before removing, so a lock someone else just took is not the one removed.
      if ((await fs.readFile(lockPath).catch(() => undefined)) === held) await fs.remove(lockPath);
      continue;
    }
    const waited = clock.now() - started;
    if (waited >= timeoutMs) throw new StateLockTimeoutError(lockPath, waited);
    await clock.sleep(pollMs);
  }
}

async function releaseLock(fs: StateFs, lockPath: string, text: string): Promise<void> {
  // Only our own lock: if it was broken as stale and taken by another process, that one is not ours to remove.
  // A lock file we cannot read is most likely still ours.
  const current = await fs.readFile(lockPath).catch(() => text);
  if (current === text) await fs.remove(lockPath).catch(() => {});
}

async function isStale(fs: StateFs, lockPath: string, text: string, now: number, staleMs: number): Promise<boolean> {
  const holder = parseLock(text);
  if (!holder) {
    // Half-written or foreign content: judge by its age on disk (file times are wall-clock times).
    const mtime = await fs.mtime(lockPath).catch(() => undefined);
    return mtime !== undefined && Date.now() - mtime > staleMs;
  }
  if (now - holder.at > staleMs) return true;
  return holder.host === hostname() && !fs.processAlive(holder.pid);
}

function parseLock(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>;
    if (
      typeof value.pid === "number" &&
      typeof value.at === "number" &&
      typeof value.host === "string" &&
      typeof value.token === "string"
    ) {
      return value as LockContent;
    }
  } catch {
    // not ours
  }
  return undefined;
}
