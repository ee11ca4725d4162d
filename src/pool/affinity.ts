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
}

export interface SessionRef {
  /** `x-session-affinity`, else `x-session-id`. */
  id: string | undefined;
  /** `x-parent-session-id` (a subagent's parent): its placement is used until the subagent has its own. */
  parent: string | undefined;
}

export interface AffinityOptions {
  maxSessions: number;
  ttlMs: number;
}

const MAX_ID_LENGTH = 200;

/** The session a request belongs to, from the headers OpenCode sends (1.18 and 2.x). */
export function sessionOf(headers: Headers): SessionRef {
  return {
    id: clean(headers.get("x-session-affinity")) ?? clean(headers.get("x-session-id")),
    parent: clean(headers.get("x-parent-session-id")),
  };
}

function clean(value: string | null): string | undefined {
  const v = value?.trim();
  return v && v.length <= MAX_ID_LENGTH ? v : undefined;
}

export class SessionAffinity {
  private readonly entries = new Map<string, Placement>();
  private readonly options: AffinityOptions;

  constructor(options: AffinityOptions) {
    this.options = options;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Where the session (else its parent) was last placed; undefined for a new session or an expired entry. */
  lookup(session: SessionRef, now: number): Placement | undefined {
    return (session.id === undefined ? undefined : this.get(session.id, now)) ?? (session.parent === undefined ? undefined : this.get(session.parent, now));
  }

  /** Records where a turn of the session went; refreshes its age and LRU position. */
  place(sessionId: string, account: string, keyId: string, now: number): void {
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { account, keyId, at: now });
    while (this.entries.size > this.options.maxSessions) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
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
      this.entries.delete(id);
    }
  }

  private get(id: string, now: number): Placement | undefined {
    const p = this.entries.get(id);
    if (p === undefined) return undefined;
    if (now - p.at >= this.options.ttlMs) {
      this.entries.delete(id);
      return undefined;
    }
    return p;
  }
}
