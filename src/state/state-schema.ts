import { z } from "zod";

/**
 * The shared state file: what one OpenCode process learned about keys and accounts, for the others and
 * for the next start. Keys appear only by fingerprint; accounts by name (or `fp:<fingerprint>` for a
 * key that is its own account). Every entry carries `at`, the time it was set, so reset markers can drop it.
 */

export const STATE_VERSION = 1;

const time = z.number().finite().nonnegative();
const text = z.string().max(1000);

const cooldownSchema = z.object({ until: time, reason: text, code: z.string().optional(), at: time });
const disabledSchema = z.object({ reason: text, code: z.string().optional(), at: time });
const unavailableSchema = z.object({ until: time, code: z.string(), wrongEndpoint: z.boolean(), at: time });
/**
 * `probeAfter`: clean completions before the next try one higher (grows after each refused try; see adaptive-limit).
 */
const limitSchema = z.object({
  limit: z.number().int().min(1),
  probeAfter: z.number().int().min(1).optional(),
  at: time,
});
const resetsSchema = z.object({
  all: time.optional(),
  accounts: z.record(z.string(), time).default({}),
  keys: z.record(z.string(), time).default({}),
});

export const providerStateSchema = z.object({
  /** By stored account id. */
  accountCooldowns: z.record(z.string(), cooldownSchema).default({}),
  disabledAccounts: z.record(z.string(), disabledSchema).default({}),
  /** By key fingerprint. */
  disabledKeys: z.record(z.string(), disabledSchema).default({}),
  keyCooldowns: z.record(z.string(), cooldownSchema).default({}),
  /** account → model → entry. */
  unavailable: z.record(z.string(), z.record(z.string(), unavailableSchema)).default({}),
  /** account → model → learned concurrency limit. */
  limits: z.record(z.string(), z.record(z.string(), limitSchema)).default({}),
  resets: resetsSchema.prefault({}),
});

export const stateFileSchema = z.object({
  version: z.literal(STATE_VERSION),
  providers: z.record(z.string(), providerStateSchema).default({}),
});

export type StoredCooldown = z.output<typeof cooldownSchema>;
export type StoredDisabled = z.output<typeof disabledSchema>;
export type StoredUnavailable = z.output<typeof unavailableSchema>;
export type StoredLimit = z.output<typeof limitSchema>;
export type Resets = z.output<typeof resetsSchema>;
export type ProviderState = z.output<typeof providerStateSchema>;
export type StateFile = z.output<typeof stateFileSchema>;

export function emptyProviderState(): ProviderState {
  return {
    accountCooldowns: {},
    disabledAccounts: {},
    disabledKeys: {},
    keyCooldowns: {},
    unavailable: {},
    limits: {},
    resets: { accounts: {}, keys: {} },
  };
}

export function emptyStateFile(): StateFile {
  return { version: STATE_VERSION, providers: {} };
}
