/**
 * The seed-004 algorithm (an existing OpenCode plugin, /work/shared/seeds/004_*): round-robin over all keys;
 * on 429 cool the key 60 s, on 401 disable it, on 5xx nothing; after any of those retry once on the next key;
 * when every enabled key is cooling, wait for the shortest cooldown; if the retry fails too, the original error
 * goes back to the caller. No notion of accounts or concurrency: a 1302 is just a 429.
 */
import { sleep } from "../lib/sleep.js";

export interface Seed004Options {
  keys: readonly string[];
  fetch: typeof globalThis.fetch;
  cooldownMs?: number;
}

interface KeyState {
  key: string;
  coolUntil: number;
  disabled: boolean;
}

export function createSeed004Fetch(options: Seed004Options): typeof globalThis.fetch {
  const cooldownMs = options.cooldownMs ?? 60_000;
  const keys: KeyState[] = options.keys.map((key) => ({ key, coolUntil: 0, disabled: false }));
  let cursor = 0;

  /** The next enabled key not cooling, round-robin; waits for the shortest cooldown when all are cooling. */
  async function pick(signal: AbortSignal | undefined): Promise<KeyState | undefined> {
    for (;;) {
      const enabled = keys.filter((k) => !k.disabled);
      if (enabled.length === 0) return undefined;
      const now = Date.now();
      for (let i = 0; i < keys.length; i++) {
        const k = keys[(cursor + i) % keys.length]!;
        if (k.disabled || k.coolUntil > now) continue;
        cursor = (cursor + i + 1) % keys.length;
        return k;
      }
      const soonest = Math.min(...enabled.map((k) => k.coolUntil));
      await sleep(soonest - now, signal);
    }
  }

  function send(k: KeyState, url: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${k.key}`);
    return options.fetch(url, { ...init, headers });
  }

  /** Marks the key after a failure; true when the answer is one seed-004 retries. */
  function react(k: KeyState, status: number): boolean {
    if (status === 429) k.coolUntil = Date.now() + cooldownMs;
    else if (status === 401) k.disabled = true;
    return status === 429 || status === 401 || status >= 500;
  }

  return (async (url: string | URL | Request, init?: RequestInit) => {
    const signal = init?.signal ?? undefined;
    const first = await pick(signal);
    if (!first) return new Response('{"error":{"message":"no enabled keys"}}', { status: 401 });
    const response = await send(first, url, init);
    if (response.ok || !react(first, response.status)) return response;
    const original = await response.text();
    const originalAnswer = () => new Response(original, { status: response.status, headers: response.headers });
    const second = await pick(signal);
    if (!second) return originalAnswer();
    const retried = await send(second, url, init);
    if (retried.ok || !react(second, retried.status)) return retried;
    await retried.text().catch(() => "");
    return originalAnswer();
  }) as typeof globalThis.fetch;
}
