/**
 * Session stickiness: which account (and key) served a session's previous turn. Z.AI's prompt cache is per
 * account, so a session that stays put pays less for its prompt and gets its first token sooner.
 * Bounded: at most `maxSessions` entries (least recently used dropped first), each forgotten after `ttlMs`
 * unseen. In memory only; session ids are opaque strings from OpenCode, nothing about the content is kept.
 */

export interface Placement {
  account: string;
  keyId: string;
  /** Last time a turn of the session was placed here (epoch ms). */
  at: number;
  /** Prompt tokens of the session's last answer (from its `usage`): what a cache hit on this account would cover. */
  promptTokens?: number;
}

export interface SessionRef {
  /** The session's own id: `x-opencode-session-id` (2.x), else `x-session-affinity`, else `x-session-id` (1.x). */
  id: string | undefined;
  /**
   * A subagent's parent: `x-opencode-parent-session-id` (2.x), else `x-parent-session-id`. A subagent without a
   * placement of its own stays with its parent's account only when that account has a free slot (see foresight.ts).
   */
  parent: string | undefined;
}

export interface AffinityOptions {
  maxSessions: number;
  ttlMs: number;
}

const MAX_ID_LENGTH = 200;

/**
 * The session a request belongs to, from the headers OpenCode sends. 1.x: `x-session-affinity` / `x-session-id` are
 * the session's own id. 2.x: they (and `x-opencode-session`) carry the *parent's* id for a subagent
 * (affinity = parentID ?? id); the own id is `x-opencode-session-id`, the parent `x-opencode-parent-session-id`.
 */
export function sessionOf(headers: Headers): SessionRef {
  return {
    id:
      clean(headers.get("x-opencode-session-id")) ??
      clean(headers.get("x-session-affinity")) ??
      clean(headers.get("x-session-id")),
    parent: clean(headers.get("x-opencode-parent-session-id")) ?? clean(headers.get("x-parent-session-id")),
  };
}

function clean(value: string | null): string | undefined {
  const v = value?.trim();
  return v && v.length <= MAX_ID_LENGTH ? v : undefined;
}

export class SessionAffinity {
  private readonly entries = new Map<string, Placement>();
  /** Live placements per account, kept as entries come and go (the request path reads it for new sessions). */
  private readonly counts = new Map<string, number>();
  private readonly options: AffinityOptions;

  constructor(options: AffinityOptions) {
    this.options = options;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Where the session (else its parent) was last placed; undefined for a new session or an expired entry. */
  lookup(session: SessionRef, now: number): Placement | undefined {
    return this.own(session, now) ?? (session.parent === undefined ? undefined : this.get(session.parent, now));
  }

  /** Where the session itself was last placed (never its parent's placement). */
  own(session: SessionRef, now: number): Placement | undefined {
    return session.id === undefined ? undefined : this.get(session.id, now);
  }

  /** Records where a turn of the session went; refreshes its age and LRU position. */
  place(sessionId: string, account: string, keyId: string, now: number): void {
    this.prune(now);
    const previous = this.entries.get(sessionId);
    this.drop(sessionId);
    const tokens = previous?.promptTokens;
    this.entries.set(sessionId, { account, keyId, at: now, ...(tokens === undefined ? {} : { promptTokens: tokens }) });
    this.counts.set(account, (this.counts.get(account) ?? 0) + 1);
    while (this.entries.size > this.options.maxSessions) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.drop(oldest.value);
    }
  }

  /** The session's last answer had `promptTokens` of prompt. */
  noteTokens(sessionId: string, promptTokens: number): void {
    const p = this.entries.get(sessionId);
    if (p !== undefined) p.promptTokens = promptTokens;
  }

  /** Sessions placed on the account (not yet forgotten; pruned as turns are placed). */
  sessionsOn(account: string): number {
    return this.counts.get(account) ?? 0;
  }

  /** Live sessions per account (for `status`): counts only, no ids. */
  sessionsPerAccount(now: number): Map<string, number> {
    this.prune(now);
    const counts = new Map<string, number>();
    for (const p of this.entries.values()) counts.set(p.account, (counts.get(p.account) ?? 0) + 1);
    return counts;
  }

  /** Drops entries unseen for `ttlMs`. Entries are in last-seen order, so this stops at the first live one. */
  prune(now: number): void {
    for (const [id, p] of this.entries) {
      if (now - p.at < this.options.ttlMs) break;
      this.drop(id);
    }
  }

  private drop(id: string): void {
    const p = this.entries.get(id);
    if (p === undefined) return;
    this.entries.delete(id);
    const n = (this.counts.get(p.account) ?? 1) - 1;
    if (n > 0) this.counts.set(p.account, n);
    else this.counts.delete(p.account);
  }

  private get(id: string, now: number): Placement | undefined {
    const p = this.entries.get(id);
    if (p === undefined) return undefined;
    if (now - p.at >= this.options.ttlMs) {
      this.drop(id);
      return undefined;
    }
    return p;
  }
}
