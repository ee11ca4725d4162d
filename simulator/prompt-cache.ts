/**
 * Z.AI's implicit prompt cache, per account: the longest prefix of a request's messages that this account has
 * seen before is reported as `usage.prompt_tokens_details.cached_tokens`. Bounded per account (oldest dropped).
 */
import { createHash } from "node:crypto";

export const MAX_PREFIXES_PER_ACCOUNT = 20_000;

export class PromptCache {
  readonly #seen = new Map<string, Map<string, true>>();

  /** Cached tokens for this body on `account` (0 for a cold prompt), then remembers its prefixes. */
  take(account: string, rawBody: string, promptTokens: number): number {
    const messages = messagesOf(rawBody);
    if (messages.length === 0) return 0;
    let seen = this.#seen.get(account);
    if (seen === undefined) {
      seen = new Map();
      this.#seen.set(account, seen);
    }
    let hash = "";
    let length = 0;
    let cachedLength = 0;
    for (const message of messages) {
      const text = JSON.stringify(message) ?? "";
      hash = createHash("sha1").update(hash).update(text).digest("hex");
      length += text.length;
      if (seen.has(hash)) {
        cachedLength = length;
        seen.delete(hash);
      }
      seen.set(hash, true);
    }
    while (seen.size > MAX_PREFIXES_PER_ACCOUNT) {
      const oldest = seen.keys().next();
      if (oldest.done === true) break;
      seen.delete(oldest.value);
    }
    return Math.min(promptTokens, Math.ceil(cachedLength / 4));
  }
}

function messagesOf(rawBody: string): unknown[] {
  try {
    const body: unknown = JSON.parse(rawBody);
    const messages =
      typeof body === "object" && body !== null ? (body as Record<string, unknown>)["messages"] : undefined;
    return Array.isArray(messages) ? messages : [];
  } catch {
    return [];
  }
}
