import { z } from "zod";

/**
 * The keys file schema: the single source of the settings' names, bounds and defaults.
 * The JSON Schema shipped for editors is generated from it (scripts/gen-schema.ts).
 */

export const PROVIDERS = ["zai-coding-plan", "zhipuai-coding-plan"] as const;
export type ProviderId = (typeof PROVIDERS)[number];

/**
 * Starting concurrency per (account, model). First the models OpenCode 1.18.33 lists for zai-coding-plan: glm-4.7
 * measured on a Coding Plan (seed 000, Feb 2026); the GLM-5 family not measured, so the 1–2 users report for GLM-5
 * class models. Then older models some plans still serve (seed 000). Adaptive limits learn the real value from 1302s;
 * raise `maxConcurrency` (and `ceiling`) in the keys file when a plan allows more.
 */
export const DEFAULT_MODEL_LIMITS: Readonly<Record<string, number>> = {
  "glm-4.7": 10,
  "glm-5-turbo": 2,
  "glm-5.2": 2,
  "glm-5.2-highspeed": 2,
  "glm-5.3": 2,
  "glm-5.3-flash": 2,
  "glm-5.3-highspeed": 2,
  "glm-4.6": 8,
  "glm-4.5": 10,
  "glm-4.5-air": 10,
  "glm-5": 1,
  "glm-4.7-flash": 1,
  "glm-4.5-flash": 2,
};
export const DEFAULT_OTHER_MODEL_LIMIT = 2;

const id = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .regex(/^[A-Za-z0-9._:@-]+$/, "may only hold letters, digits and . _ : @ -");

export const keyEntrySchema = z.strictObject({
  id: id.describe("Stable name of the key, used in logs, toasts and the state file."),
  label: z.string().trim().min(1).max(120).optional().describe("Display name; defaults to id."),
  apiKey: z.string().trim().min(1, "must not be empty").describe("The Z.AI API key."),
  enabled: z.boolean().default(true).describe("Set false to keep a key on file without using it."),
  account: id
    .optional()
    .describe("Keys with the same account share its concurrency limits and usage windows. Defaults to the key's id."),
  provider: z.enum(PROVIDERS).default("zai-coding-plan").describe("Which OpenCode provider this key serves."),
});

export const rotationSchema = z.strictObject({
  strategy: z
    .enum(["round-robin", "fill-first"])
    .default("round-robin")
    .describe(
      "round-robin spreads requests over accounts; fill-first uses accounts in file order, the next only when " +
        "the earlier ones are full or cooling.",
    ),
  cooldownMs: z
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(60_000)
    .describe("How long a key rests after a 429 that names no reset time and carries no Retry-After."),
});

export const modelSchema = z.strictObject({
  maxConcurrency: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe("Requests of this model in flight per account (the starting point when adaptive)."),
  adaptive: z
    .boolean()
    .optional()
    .describe("Learn this model's real limit from 1302 answers (default: adaptive.enabled)."),
  ceiling: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      "Highest limit adaptive learning may reach (default: maxConcurrency, so learning only lowers and restores it).",
    ),
});

export const retrySchema = z.strictObject({
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(6)
    .describe("Upstream calls per request at most, first one included."),
  budgetMs: z
    .number()
    .int()
    .min(0)
    .default(120_000)
    .describe("Time a request may spend on retries and cooldown waits (queue wait not included)."),
  baseDelayMs: z
    .number()
    .int()
    .min(0)
    .default(500)
    .describe("First backoff step; doubles each attempt, with full jitter."),
  maxDelayMs: z.number().int().min(0).default(30_000).describe("Largest single backoff."),
  maxQueueWaitMs: z
    .number()
    .int()
    .min(0)
    .default(600_000)
    .describe("How long a request may wait for a free concurrency slot before it is given back as 429."),
  maxCooldownWaitMs: z
    .number()
    .int()
    .min(0)
    .default(30_000)
    .describe(
      "Cooldowns shorter than this are waited out inside the plugin; longer ones are handed to OpenCode as 429 " +
        "with retry-after-ms.",
    ),
  maxWaitMs: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "Fail fast: when every account is cooling for longer than this, answer at once with a final error naming " +
        "the accounts and reset times, instead of waiting (for scripts and CI). Unset: wait.",
    ),
  cancelGraceMs: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(250)
    .describe(
      "A slot freed by a cancelled or aborted stream (or an answer the plugin stopped reading itself) is reused " +
        "only after this long: Z.AI notices a closed connection a moment later and would answer the next request " +
        "1302.",
    ),
});

export const adaptiveSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Learn each (account, model) limit from 1302 answers."),
  decreaseFactor: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.5)
    .describe(
      "On a 1302 above anything Z.AI admitted (a limit configured too high) the limit is multiplied by this " +
        "(never below 1); at a level it had admitted, the limit goes down to what was in flight (one step when the " +
        "account was full).",
    ),
  increaseAfter: z
    .number()
    .int()
    .min(1)
    .default(20)
    .describe(
      "Clean completions, at full use of the limit, before it rises by one (the first 3 at a new level prove it, " +
        "so rises come at least 4 apart).",
    ),
  recoverAfterMs: z
    .number()
    .int()
    .min(0)
    .default(1_800_000)
    .describe(
      "A learned limit below its ceiling is tried one higher after this long without a 1302 (Z.AI raises limits " +
        "off-peak). 0 disables.",
    ),
});

export const notificationsSchema = z.strictObject({
  toasts: z
    .boolean()
    .default(true)
    .describe("Show OpenCode toasts for disabled keys, spent windows, unavailable models."),
  intervalMs: z.number().int().min(0).default(300_000).describe("At most one toast of each kind per interval."),
});

/** Quota-aware routing (issue 12): read each account's usage from Z.AI's quota endpoint, route away before 1308. */
export const quotaSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe("Poll each account's quota endpoint (no tokens spent) and route away from accounts near their limit."),
  threshold: z
    .number()
    .gt(0)
    .max(1)
    .default(0.95)
    .describe("Share of a 5-hour or weekly window (0–1) from which new requests go to other accounts."),
  pollIntervalMs: z
    .number()
    .int()
    .min(5_000)
    .default(300_000)
    .describe("Re-read an account at most this often while it is in use or past the threshold; never while idle."),
  pollEveryCompletions: z
    .number()
    .int()
    .min(1)
    .default(5)
    .describe(
      "Re-read an account after this many requests sent to it while that matters: its projection is near the " +
        "threshold, or its last reading disagreed with the projection.",
    ),
});

/** Session stickiness (issue 12): keep a session on the account that served its previous turn (warm prompt cache). */
export const affinitySchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe("Send each session's turns to the account (and key) of its previous turn while it can take them."),
  maxSessions: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(2_000)
    .describe("Sessions remembered at most (least recently used go first)."),
  ttlMs: z.number().int().min(1_000).default(3_600_000).describe("A session not seen for this long is forgotten."),
  maxWaitMs: z
    .number()
    .int()
    .min(0)
    .default(2_000)
    .describe("How long a turn may wait for its session's account when another account is free (0: never wait)."),
  cacheMsPer1kTokens: z
    .number()
    .min(0)
    .default(100)
    .describe(
      "What a prompt-cache hit saves per 1,000 prompt tokens, in ms: a turn waits for its session's account no " +
        "longer than its last prompt would save (and at most maxWaitMs).",
    ),
});

export const keysFileSchema = z.strictObject({
  $schema: z.string().optional(),
  keys: z.array(keyEntrySchema).default([]),
  rotation: rotationSchema.prefault({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  retry: retrySchema.prefault({}),
  adaptive: adaptiveSchema.prefault({}),
  notifications: notificationsSchema.prefault({}),
  quota: quotaSchema.prefault({}),
  affinity: affinitySchema.prefault({}),
  unavailableRecheckMs: z
    .number()
    .int()
    .min(0)
    .default(3_600_000)
    .describe("After a 1113/1311, how long before the (account, model) pair is tried again (plans get upgraded)."),
  redis: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .optional()
    .describe(
      "Share slots, learned limits and waiting queues with OpenCode on other machines through this Redis " +
        "(ZAI_REDIS_URL overrides).",
    ),
});

export type KeysFileInput = z.input<typeof keysFileSchema>;
export type KeysFile = z.output<typeof keysFileSchema>;
export type KeyEntry = z.output<typeof keyEntrySchema>;
export type Settings = Omit<KeysFile, "$schema" | "keys">;

/** Where a model's learned limit starts: the keys file's maxConcurrency, else the model's default. */
export function startLimit(settings: Pick<Settings, "models"> | undefined, model: string): number {
  return settings?.models[model]?.maxConcurrency ?? DEFAULT_MODEL_LIMITS[model] ?? DEFAULT_OTHER_MODEL_LIMIT;
}
export type RetrySettings = KeysFile["retry"];
export type AdaptiveSettings = KeysFile["adaptive"];
export type QuotaSettings = KeysFile["quota"];
export type AffinitySettings = KeysFile["affinity"];
