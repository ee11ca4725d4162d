import { dirname, join } from "node:path";
import { z } from "zod";
import { replaceFile, type StateFs } from "../state/state-fs.js";
import type { QuotaReading } from "./reading.js";

/**
 * Quota readings for `status`, and for a process starting later (its first requests are routed with them): a small
 * sibling of the state file, written on each new reading.
 * Per provider, per account (as the state file names it): the latest reading and the live session count. No keys,
 * no session ids. Last writer wins per account by reading time; losing a reading costs nothing (the next one comes).
 */
export const QUOTA_FILE_NAME = "zai-multi-account-quota.json";

export function quotaFilePath(stateFile: string): string {
  return join(dirname(stateFile), QUOTA_FILE_NAME);
}

const windowSchema = z.object({
  type: z.string(),
  percentage: z.number(),
  used: z.number().optional(),
  limit: z.number().optional(),
  remaining: z.number().optional(),
  resetAt: z.number().optional(),
});
const readingSchema = z.object({
  at: z.number(),
  level: z.string().optional(),
  fiveHour: windowSchema.optional(),
  weekly: windowSchema.optional(),
  tools: windowSchema.optional(),
});
/** Points per minute each window moved lately (issue 18): `status` projects the reading on with it. */
const paceSchema = z.object({ fiveHour: z.number().optional(), weekly: z.number().optional() });
const entrySchema = z.object({
  reading: readingSchema,
  sessions: z.number().int().min(0),
  pace: paceSchema.optional(),
});
const quotaFileSchema = z.object({
  version: z.literal(1),
  providers: z.record(z.string(), z.record(z.string(), entrySchema)),
});

export type QuotaEntry = z.infer<typeof entrySchema>;
export type QuotaPace = z.infer<typeof paceSchema>;
export type QuotaFile = z.infer<typeof quotaFileSchema>;

/** An entry's reading as the poller keeps it. Parsed from JSON, its optional fields are absent, never undefined. */
export function readingOf(entry: QuotaEntry): QuotaReading {
  return entry.reading as QuotaReading;
}

/** The file's content; an empty one when it is missing, unreadable or of another shape (it is only a display cache). */
export async function readQuotaFile(fs: StateFs, path: string): Promise<QuotaFile> {
  try {
    const text = await fs.readFile(path);
    if (text !== undefined) {
      const parsed = quotaFileSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    }
  } catch {
    // a display cache: start empty
  }
  return { version: 1, providers: {} };
}

/** Merges one account's reading in (kept only if newer) and replaces the file atomically. */
export async function writeQuotaReading(
  fs: StateFs,
  path: string,
  provider: string,
  account: string,
  reading: QuotaReading,
  sessions: number,
  pace?: QuotaPace,
): Promise<void> {
  const file = await readQuotaFile(fs, path);
  const section = (file.providers[provider] ??= {});
  const current = section[account];
  if (current && current.reading.at > reading.at) return;
  section[account] = { reading, sessions, ...(pace === undefined ? {} : { pace }) };
  await replaceFile(fs, path, `${JSON.stringify(file, null, 2)}\n`);
}
