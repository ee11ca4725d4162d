import { basename, dirname, join } from "node:path";
import type { Clock } from "../util/clock.js";
import { StateFileError } from "./errors.js";
import { withLock, type LockOptions } from "./lock.js";
import { emptyStateFile, stateFileSchema, type StateFile } from "./state-schema.js";
import { replaceFile, type StateFs } from "./state-fs.js";

/** What reading the state file found. Anything but "ok" means: start fresh. */
export type ReadResult =
  | { kind: "ok"; file: StateFile }
  | { kind: "missing" }
  | { kind: "corrupt"; problem: string }
  | { kind: "unreadable"; problem: string };

export function lockPathOf(path: string): string {
  return `${path}.lock`;
}

export async function readStateFile(fs: StateFs, path: string): Promise<ReadResult> {
  let text: string | undefined;
  try {
    text = await fs.readFile(path);
  } catch (error) {
    return { kind: "unreadable", problem: new StateFileError(path, "read state file", { cause: error }).message };
  }
  if (text === undefined) return { kind: "missing" };
  return parseStateText(text);
}

/** Validates state file text. Messages say what is wrong, never quote the content. */
export function parseStateText(text: string): ReadResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "corrupt", problem: "not valid JSON" };
  }
  const result = stateFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.map(String).join(".")}` : "";
    return { kind: "corrupt", problem: `unexpected shape${where}${issue ? `: ${issue.message}` : ""}` };
  }
  return { kind: "ok", file: result.data };
}

/** The file's content, or a fresh one for a missing or corrupt file. */
export function contentOf(read: ReadResult): StateFile {
  return read.kind === "ok" ? read.file : emptyStateFile();
}

/**
 * Replaces the state file atomically: a temp file in the same directory (mode 0600, flushed), then a rename.
 * A crash leaves either the old file or the new one, plus at worst a temp file that `cleanTempFiles` removes.
 */
export async function writeStateFile(fs: StateFs, path: string, file: StateFile): Promise<void> {
  try {
    await replaceFile(fs, path, `${JSON.stringify(file, null, 2)}\n`);
  } catch (error) {
    throw new StateFileError(path, "write state file", { cause: error });
  }
  await fs.syncDir(dirname(path));
}

/**
 * Removes temp files left by a crash between write and rename. Call while holding the lock: no writer is active then.
 */
export async function cleanTempFiles(fs: StateFs, path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith(".tmp")) await fs.remove(join(dirname(path), name)).catch(() => {});
  }
}

export interface UpdateOptions {
  lock?: LockOptions;
  /** Also remove leftover temp files (once, at start). */
  cleanTemps?: boolean;
}

/**
 * Read → change → write while holding the lock, so concurrent processes never lose each other's updates.
 * `change` returns the new content, or undefined to leave the file as it is. An unreadable file is never
 * overwritten (its content may be fine); a corrupt one is replaced.
 */
export async function updateStateFile(
  fs: StateFs,
  path: string,
  clock: Clock,
  change: (read: ReadResult) => StateFile | undefined,
  options: UpdateOptions = {},
): Promise<ReadResult> {
  try {
    await fs.mkdir(dirname(path), 0o700);
  } catch (error) {
    throw new StateFileError(path, "create the directory of state file", { cause: error });
  }
  return withLock(
    fs,
    lockPathOf(path),
    clock,
    async () => {
      if (options.cleanTemps) await cleanTempFiles(fs, path);
      const read = await readStateFile(fs, path);
      const next = change(read);
      if (next !== undefined && read.kind !== "unreadable") await writeStateFile(fs, path, next);
      return read;
    },
    options.lock,
  );
}
