/** Why a wait for a concurrency slot ended without one. Internal: the orchestrator turns these into answers. */

export class QueueTimeoutError extends Error {
  override readonly name = "QueueTimeoutError";
  readonly code = "ZAI_QUEUE_TIMEOUT";
  readonly waitedMs: number;
  constructor(waitedMs: number) {
    super(`no concurrency slot became free within ${Math.round(waitedMs / 1000)} s`);
    this.waitedMs = waitedMs;
  }
}

/** Every account the waiter could use became unusable (cooling, disabled) while it waited. */
export class NoCandidatesError extends Error {
  override readonly name = "NoCandidatesError";
  readonly code = "ZAI_NO_CANDIDATES";
  constructor() {
    super("no usable account is left for this request");
  }
}
