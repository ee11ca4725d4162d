import { dirname, join } from "node:path";
import { z } from "zod";
import { replaceFile, type StateFs } from "../state/state-fs.js";
import type { KeyResult } from "./key-check.js";

/**
 * The check of the keys stored at `opencode providers login`, beside the state file: per provider, which credential
 * was checked (its fingerprint), when, and each key's answer by position, id and fingerprint. No key. A check with
 * an unanswered key is not complete: the next start checks again.
 */
export const LOGIN_CHECK_FILE_NAME = "zai-multi-account-login-check.json";

export function loginCheckPath(stateFile: string): string {
  return join(dirname(stateFile), LOGIN_CHECK_FILE_NAME);
}

const who = { position: z.number(), id: z.string(), account: z.string(), fingerprint: z.string() };
const resultSchema = z.discriminatedUnion("result", [
  z.object({
    ...who,
    result: z.literal("ok"),
    level: z.string().optional(),
    fiveHour: z.number().optional(),
    weekly: z.number().optional(),
  }),
  z.object({ ...who, result: z.literal("refused"), code: z.string() }),
  z.object({ ...who, result: z.literal("unknown"), why: z.string() }),
]);
const entrySchema = z.object({
  credential: z.string(),
  at: z.number(),
  complete: z.boolean(),
  keys: z.array(resultSchema),
});
const fileSchema = z.object({ version: z.literal(1), providers: z.record(z.string(), entrySchema) });

export type LoginCheck = z.infer<typeof entrySchema>;
type LoginCheckFile = z.infer<typeof fileSchema>;

/** The provider's last check, if the file has one. A missing or unreadable file is no check. */
export async function readLoginCheck(fs: StateFs, path: string, provider: string): Promise<LoginCheck | undefined> {
  return (await readFile(fs, path)).providers[provider];
}

export function resultsOf(check: LoginCheck): KeyResult[] {
  return check.keys as KeyResult[];
}

/** Replaces the provider's entry, atomically (temp file, mode 0600, rename). */
export async function writeLoginCheck(fs: StateFs, path: string, provider: string, check: LoginCheck): Promise<void> {
  const file = await readFile(fs, path);
  file.providers[provider] = check;
  await replaceFile(fs, path, `${JSON.stringify(file, null, 2)}\n`);
}

async function readFile(fs: StateFs, path: string): Promise<LoginCheckFile> {
  try {
    const text = await fs.readFile(path);
    const parsed = text === undefined ? undefined : fileSchema.safeParse(JSON.parse(text));
    if (parsed?.success) return parsed.data;
  } catch {
    // only a record of a check: start empty
  }
  return { version: 1, providers: {} };
}
