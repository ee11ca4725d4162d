import { PROVIDERS, type ProviderId } from "../config/schema.js";

/**
 * Options of the 2.x plugin entry `{ "package": "oc-zai-multi-account", "options": { ... } }` (`ctx.options`).
 * The 2.x server may run as a background service whose environment is not the terminal's
 * (opencode-v2.md section 1), so everything a user needs can be set here; environment variables still work.
 */
export interface V2Options {
  /** Keys file path; default: ZAI_KEYS_FILE, else <config>/opencode/zai-keys.json. */
  keysFile: string | undefined;
  /** Providers to serve. */
  providers: ProviderId[];
  /**
   * Longest time `http.request` may spend before answering (slot wait, retries, cooldown waits). The host's
   * header timeout (packages/ai/src/schema/options.ts `headerTimeout`, 300 000 ms) covers both HTTP hooks.
   */
  requestBudgetMs: number;
  /**
   * An attempt or answer parked for `http.response` (or handed back and never read) is dropped after this, freeing its
   * slot.
   */
  leaseTtlMs: number;
  /**
   * Who sends the upstream request. "plugin" (default): the engine sends with the real key and the host sends a
   * keyless stub, so no key ever sits in a request the host records (packages/ai/src/route/executor.ts keeps the
   * request's headers in failure records; older revisions unredacted). "host": the host sends the first attempt with
   * the key set in `http.request` (the engine still re-issues failures itself).
   */
  transport: "plugin" | "host";
}

export const HOST_HEADER_TIMEOUT_MS = 300_000;
/**
 * Defaults. Lease TTL by transport: with "plugin" only the host's send of the local stub lies between the hooks
 * (milliseconds), so an answer not collected within 15 s was abandoned; with "host" the host's upstream send lies
 * between them, bounded by its header timeout, so an attempt is abandoned after that plus a margin.
 */
export const V2_DEFAULTS = {
  requestBudgetMs: 240_000,
  leaseTtlMs: { plugin: 15_000, host: HOST_HEADER_TIMEOUT_MS + 30_000 },
} as const;
/** A body handed to the host that it has not started to read after this (or the lease TTL, if shorter) is cancelled. */
export const UNREAD_TTL_MS = 15_000;

/** Reads `ctx.options`; a bad field is named in the thrown error (setup logs it and registers nothing). */
export function parseV2Options(
  raw: Readonly<Record<string, unknown>> | undefined,
  defaultProviders: readonly ProviderId[],
): V2Options {
  const options = raw ?? {};
  const keysFile = options.keysFile;
  if (keysFile !== undefined && (typeof keysFile !== "string" || keysFile.length === 0)) {
    throw new Error(`plugin option "keysFile" must be a non-empty path string`);
  }
  let providers = [...defaultProviders];
  if (options.providers !== undefined) {
    const list = options.providers;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((p): p is ProviderId => PROVIDERS.includes(p as ProviderId))
    ) {
      throw new Error(
        `plugin option "providers" must be a non-empty list of ${PROVIDERS.map((p) => `"${p}"`).join(", ")}`,
      );
    }
    providers = [...new Set(list)];
  }
  const requestBudgetMs = duration(options, "requestBudgetMs", V2_DEFAULTS.requestBudgetMs, HOST_HEADER_TIMEOUT_MS - 1);
  const transport = options.transport ?? "plugin";
  if (transport !== "plugin" && transport !== "host")
    throw new Error(`plugin option "transport" must be "plugin" or "host"`);
  const leaseTtlMs = duration(options, "leaseTtlMs", V2_DEFAULTS.leaseTtlMs[transport], Number.MAX_SAFE_INTEGER);
  return { keysFile, providers, requestBudgetMs, leaseTtlMs, transport };
}

function duration(options: Readonly<Record<string, unknown>>, name: string, fallback: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`plugin option "${name}" must be a whole number of milliseconds from 1 to ${max}`);
  }
  return value;
}
