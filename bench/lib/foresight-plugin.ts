/** The plugin's fetch for the foresight scenarios (issue 12): like lib/plugin.ts, plus the quota endpoint read. */
import {
  createZaiFetch,
  keysFileSchema,
  Notifier,
  Redactor,
  systemClock,
  systemRandom,
  type KeysFileInput,
  type ZaiFetch,
} from "../../src/lib.js";
import { apiKeys, type AccountKeys } from "./plugin.js";

export function foresightFetch(
  accounts: readonly AccountKeys[],
  settings: Omit<KeysFileInput, "keys" | "$schema">,
  onToast?: (message: string) => void,
): ZaiFetch {
  const { keys: _k, $schema: _s, ...parsed } = keysFileSchema.parse(settings);
  const clock = systemClock;
  const sink = { toast: (t: { message: string }) => onToast?.(t.message), log() {} };
  const notifier = new Notifier({
    clock,
    sink,
    redactor: new Redactor(),
    toasts: onToast !== undefined,
    intervalMs: 0,
  });
  const fetch = (url: string | URL | Request, init?: RequestInit) => globalThis.fetch(url, init);
  return createZaiFetch({
    keys: apiKeys(accounts),
    settings: parsed,
    clock,
    random: systemRandom,
    fetch,
    quotaFetch: fetch,
    notifier,
  });
}

/** Cached and prompt tokens from a completion's final usage frame (stream or JSON); zeros when absent. */
export function usageOf(text: string): { prompt: number; cached: number } {
  const prompt = [...text.matchAll(/"prompt_tokens":(\d+)/g)].at(-1)?.[1];
  const cached = [...text.matchAll(/"cached_tokens":(\d+)/g)].at(-1)?.[1];
  return { prompt: Number(prompt ?? 0), cached: Number(cached ?? 0) };
}
