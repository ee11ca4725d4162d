/** The plugin's fetch built the way the library API documents it, with real time and a silent notifier. */
import * as srcLib from "../../src/lib.js";
import type { ApiKey, FetchEvent, KeysFileInput, ZaiFetch } from "../../src/lib.js";

type Lib = typeof srcLib;

export interface AccountKeys {
  account: string;
  keys: readonly string[];
}

export function apiKeys(accounts: readonly AccountKeys[]): ApiKey[] {
  return accounts.flatMap(({ account, keys }) =>
    keys.map((apiKey, i) => ({
      id: `${account}-${i + 1}`,
      label: `${account}-${i + 1}`,
      apiKey,
      account,
      provider: "zai-coding-plan" as const,
      source: "file" as const,
    })),
  );
}

export function pluginFetch(
  accounts: readonly AccountKeys[],
  settings: Omit<KeysFileInput, "keys" | "$schema">,
  fetch: typeof globalThis.fetch,
  onEvent?: (event: FetchEvent) => void,
): ZaiFetch {
  return pluginFetchOf(srcLib, accounts, settings, fetch, onEvent);
}

/** The same, from a given build of the library (bench/lib/built.ts: the shipped one). */
export function pluginFetchOf(
  lib: Lib,
  accounts: readonly AccountKeys[],
  settings: Omit<KeysFileInput, "keys" | "$schema">,
  fetch: typeof globalThis.fetch,
  onEvent?: (event: FetchEvent) => void,
): ZaiFetch {
  const { createZaiFetch, keysFileSchema, Notifier, Redactor, systemClock, systemRandom } = lib;
  const { keys: _k, $schema: _s, ...parsed } = keysFileSchema.parse(settings);
  const clock = systemClock;
  const notifier = new Notifier({
    clock,
    sink: { toast() {}, log() {} },
    redactor: new Redactor(),
    toasts: false,
    intervalMs: 0,
  });
  return createZaiFetch({
    keys: apiKeys(accounts),
    settings: parsed,
    clock,
    random: systemRandom,
    fetch,
    notifier,
    ...(onEvent ? { onEvent } : {}),
  });
}
