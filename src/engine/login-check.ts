import type { ApiKey } from "../config/keys.js";
import { accountMapping, type LoginCredential } from "../config/login-keys.js";
import type { Notifier } from "../notify/notifier.js";
import { checkKeys, keyCheckToast } from "../quota/key-check.js";
import { loginCheckPath, readLoginCheck, writeLoginCheck } from "../quota/login-check-file.js";
import type { StateFs } from "../state/state-fs.js";
import type { Clock } from "../util/clock.js";
import { fingerprint } from "../util/redact.js";

export interface LoginCheckDeps {
  provider: string;
  /** The keys the login credential gave (only those are checked). */
  keys: readonly ApiKey[];
  credential: LoginCredential;
  /** The state file; its directory holds the record of the check. Undefined: no record, one check per process. */
  statePath: string | undefined;
  fs: StateFs;
  fetch: typeof globalThis.fetch;
  clock: Clock;
  notifier: Notifier;
}

/** A fingerprint of what was logged in (the pasted keys and how they map): a new login is checked again. */
export function credentialFingerprint(credential: LoginCredential): string {
  return fingerprint(`${accountMapping(credential)}\u0000${credential.key}`);
}

/**
 * At the first start after `opencode providers login`, every key it stored is checked once through the quota
 * endpoint (no tokens spent): one toast with each key's plan and usage, refused keys by position and fingerprint.
 * Started by the first request (its URL says where Z.AI is); later calls do nothing. Never throws.
 */
export function loginCheck(deps: LoginCheckDeps): { start(baseUrl: string): Promise<void> } {
  let started: Promise<void> | undefined;
  const run = async (baseUrl: string): Promise<void> => {
    const credential = credentialFingerprint(deps.credential);
    const path = deps.statePath === undefined ? undefined : loginCheckPath(deps.statePath);
    const last = path === undefined ? undefined : await readLoginCheck(deps.fs, path, deps.provider);
    if (last && last.credential === credential && last.complete) return;
    const results = await checkKeys(deps.keys, baseUrl, { fetch: deps.fetch, clock: deps.clock });
    const toast = keyCheckToast(results);
    deps.notifier.toast("key-check", toast.message, toast.variant);
    if (path === undefined) return;
    const complete = results.every((r) => r.result !== "unknown");
    await writeLoginCheck(deps.fs, path, deps.provider, { credential, at: deps.clock.now(), complete, keys: results });
  };
  return {
    start: (baseUrl) =>
      (started ??= run(baseUrl).catch((error: unknown) => {
        const why = error instanceof Error ? error.message : String(error);
        deps.notifier.log("warn", `login key check not recorded: ${why}`);
      })),
  };
}
