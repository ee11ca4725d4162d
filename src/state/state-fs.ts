import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The file operations the state file needs; injected so tests can make any of them fail. */
export interface StateFs {
  /** File text, or undefined when it does not exist. Other failures throw. */
  readFile(path: string): Promise<string | undefined>;
  /** Creates `path` holding `data` only if it does not exist yet; false when it does. */
  createExclusive(path: string, data: string, mode: number): Promise<boolean>;
  /** Writes a new file and flushes it to disk before resolving. Fails if it exists. */
  writeDurable(path: string, data: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Flushes a directory entry change (a rename) to disk; best effort. */
  syncDir(path: string): Promise<void>;
  /** Last modification time, or undefined when the file does not exist. */
  mtime(path: string): Promise<number | undefined>;
  /** Whether a process with this id runs on this machine. */
  processAlive(pid: number): boolean;
}

export const nodeStateFs: StateFs = {
  readFile: async (path) => {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      if (codeOf(error) === "ENOENT") return undefined;
      throw error;
    }
  },
  createExclusive: async (path, data, mode) => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    } catch (error) {
      if (codeOf(error) === "EEXIST") return false;
      throw error;
    }
    try {
      await handle.writeFile(data, "utf8");
    } finally {
      await handle.close();
    }
    return true;
  },
  writeDurable: async (path, data, mode) => {
    const handle = await open(path, "wx", mode);
    try {
      await handle.writeFile(data, "utf8");
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  remove: async (path) => {
    try {
      await unlink(path);
    } catch (error) {
      if (codeOf(error) !== "ENOENT") throw error;
    }
  },
  mkdir: async (path, mode) => {
    await mkdir(path, { recursive: true, mode });
  },
  readdir: (path) => readdir(path),
  syncDir: async (path) => {
    try {
      const handle = await open(path, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // not supported everywhere (Windows); the rename itself is still atomic
    }
  },
  mtime: async (path) => {
    try {
      return (await stat(path)).mtimeMs;
    } catch (error) {
      if (codeOf(error) === "ENOENT") return undefined;
      throw error;
    }
  },
  processAlive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return codeOf(error) === "EPERM";
    }
  },
};

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/**
 * Replaces `path` with `text` atomically: a temp file beside it (mode 0600, flushed), then a rename. Readers see the
 * old file or the new one, never half of one; a failed write removes its temp file and throws.
 */
export async function replaceFile(fs: StateFs, path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    await fs.mkdir(dir, 0o700);
    await fs.writeDurable(temp, text, 0o600);
    await fs.rename(temp, path);
  } catch (error) {
    await fs.remove(temp).catch(() => {});
    throw error;
  }
}
