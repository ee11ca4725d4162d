/** Errors of the state file. Each has a literal `name` and a stable `code`; callers turn them into warnings. */

export class StateLockTimeoutError extends Error {
  override readonly name = "StateLockTimeoutError";
  readonly code = "ZAI_STATE_LOCK_TIMEOUT";
  readonly lockPath: string;

  constructor(lockPath: string, waitedMs: number) {
    super(`state file lock ${lockPath} is held by another process (waited ${waitedMs} ms)`);
    this.lockPath = lockPath;
  }
}

export class StateFileError extends Error {
  override readonly name = "StateFileError";
  readonly code = "ZAI_STATE_IO";
  readonly path: string;

  constructor(path: string, action: string, options?: { cause?: unknown }) {
    super(`cannot ${action} ${path}${describeCause(options?.cause)}`, options);
    this.path = path;
  }
}

/** "(EACCES)" from a Node error, without echoing anything else. */
function describeCause(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? ` (${code})` : cause instanceof Error ? ` (${cause.message})` : "";
}

export function isStateError(error: unknown): error is StateLockTimeoutError | StateFileError {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === "StateLockTimeoutError" || name === "StateFileError";
}
