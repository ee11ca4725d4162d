/**
 * How an answer of the engine is shown to the 2.x host, and what the `retry` hook should do about it.
 *
 * The host decides retries from the response alone (packages/ai/src/provider-error.ts, runner/retry.ts;
 * opencode-v2.md section 4): an `x-should-retry` header decides first; else the class (RateLimit,
 * ProviderInternal and UnknownProvider retry). Revisions disagree on Z.AI's 429 texts (the later one reads
 * "usage limit" as QuotaExceeded, not retried), so every plugin answer carries the header explicitly:
 * final answers `x-should-retry: false`, time-fixed answers (429 + retry-after-ms) `x-should-retry: true`.
 */

/** What the plugin decided about one answer, remembered for the `retry` hook of the same session. */
export type RetryNote = { final: true } | { final: false; delayMs: number };

const PLUGIN_HEADER = "x-zai-multi-account";

/** The engine's answer, marked for the host, and the note for `retry` (undefined: an upstream answer passed on). */
export function forHost(response: Response): { response: Response; note: RetryNote | undefined } {
  if (!response.headers.has(PLUGIN_HEADER) || response.status < 400) return { response, note: undefined };
  const headers = new Headers(response.headers);
  let note: RetryNote;
  if (response.status === 429) {
    const delayMs = Number(response.headers.get("retry-after-ms"));
    note = { final: false, delayMs: Number.isFinite(delayMs) && delayMs >= 0 ? delayMs : 1000 };
    headers.set("x-should-retry", "true");
  } else {
    note = { final: true };
    headers.set("x-should-retry", "false");
  }
  return {
    response: new Response(response.body, { status: response.status, statusText: response.statusText, headers }),
    note,
  };
}

/**
 * Notes per (session, provider, model), taken by the `retry` hook that follows the failed attempt. The retry
 * event carries no request identity (session.ts `SessionRetry`), so this is the narrowest key available.
 * Bounded: the oldest note goes when `max` is reached (a session that ends without a retry never takes its note).
 */
export class RetryNotes {
  private readonly notes = new Map<string, RetryNote>();

  constructor(private readonly max = 1000) {}

  static key(sessionID: string, providerID: string, modelID: string): string {
    return `${sessionID}\u0000${providerID}\u0000${modelID}`;
  }

  set(key: string, note: RetryNote | undefined): void {
    this.notes.delete(key);
    if (note === undefined) return;
    this.notes.set(key, note);
    if (this.notes.size > this.max) {
      const oldest = this.notes.keys().next().value;
      if (oldest !== undefined) this.notes.delete(oldest);
    }
  }

  take(key: string): RetryNote | undefined {
    const note = this.notes.get(key);
    this.notes.delete(key);
    return note;
  }

  get size(): number {
    return this.notes.size;
  }
}
