import { dirname, join } from "node:path";
import { z } from "zod";
import { replaceFile, type StateFs } from "./state-fs.js";

/**
 * The last things that went wrong, for `status --watch`: a small file beside the state file, shared by every
 * process of the machine. Bounded (the newest MAX_EVENTS), redacted text only (no key, no request content).
 * A display record: two processes writing at once may lose an event, never corrupt the file (temp file + rename).
 */
export const EVENTS_FILE_NAME = "zai-multi-account-events.json";
export const MAX_EVENTS = 40;

export function eventsPath(stateFile: string): string {
  return join(dirname(stateFile), EVENTS_FILE_NAME);
}

const eventSchema = z.object({ at: z.number(), provider: z.string(), pid: z.number(), text: z.string().max(400) });
const fileSchema = z.object({ version: z.literal(1), events: z.array(eventSchema) });
export type LoggedEvent = z.infer<typeof eventSchema>;

/** Pure: the newest `max` of both lists, oldest first. */
export function appendEvents(
  existing: readonly LoggedEvent[],
  added: readonly LoggedEvent[],
  max = MAX_EVENTS,
): LoggedEvent[] {
  return [...existing, ...added].sort((a, b) => a.at - b.at).slice(-max);
}

export async function readEvents(fs: StateFs, path: string): Promise<LoggedEvent[]> {
  try {
    const text = await fs.readFile(path);
    const parsed = text === undefined ? undefined : fileSchema.safeParse(JSON.parse(text));
    if (parsed?.success) return parsed.data.events;
  } catch {
    // a display record: start empty
  }
  return [];
}

/** Appends events to the file, one write at a time; events that come meanwhile go in the next write. */
export function eventLog(
  fs: StateFs,
  path: string,
  onError: (error: unknown) => void,
): { add(event: LoggedEvent): Promise<void> } {
  let pending: LoggedEvent[] = [];
  let writing = Promise.resolve();
  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      const events = appendEvents(await readEvents(fs, path), batch);
      await replaceFile(fs, path, `${JSON.stringify({ version: 1, events })}\n`).catch(onError);
    }
  };
  return {
    add(event) {
      pending.push({ ...event, text: event.text.slice(0, 400) });
      // Chained: a flush finds the batch empty when an earlier one took it.
      writing = writing.then(flush);
      return writing;
    },
  };
}
