import type { FetchEvent } from "../fetch/lifecycle.js";
import { eventLog, eventsPath, type LoggedEvent } from "../state/event-log.js";
import type { NotifySink } from "../notify/notifier.js";
import type { StateFs } from "../state/state-fs.js";
import type { Clock } from "../util/clock.js";

/** Pure: the line `status --watch` shows for a lifecycle event, or undefined for the routine ones. Names ids only. */
export function eventText(event: FetchEvent): string | undefined {
  switch (event.type) {
    case "outcome":
      if (event.status < 400 && event.code === undefined) return undefined;
      return `${event.code ?? event.status} ${event.account}/${event.model} key ${event.keyId}: ${event.verdict}`;
    case "limit":
      if (event.change.why !== "1302") return undefined;
      return `limit ${event.change.account}/${event.change.model} ${event.change.from} -> ${event.change.to} (1302)`;
    case "attempt":
    case "wait":
      return undefined;
    default:
      return event satisfies never;
  }
}

/**
 * Records what `status --watch` lists as "last events" (src/notify/event-log.ts): refusals and learned limits from
 * the lifecycle, and every toast (already redacted by the notifier: keys disabled, windows spent, quota routing).
 */
export function eventRecorder(deps: { fs: StateFs; statePath: string; provider: string; clock: Clock; pid: number }) {
  const log = eventLog(deps.fs, eventsPath(deps.statePath), () => {});
  const add = (text: string) => {
    const event: LoggedEvent = { at: deps.clock.now(), provider: deps.provider, pid: deps.pid, text };
    void log.add(event);
  };
  return {
    onEvent(event: FetchEvent): void {
      const text = eventText(event);
      if (text !== undefined) add(text);
    },
    sink(sink: NotifySink): NotifySink {
      return {
        toast: (input) => sink.toast(input),
        log: (entry) => {
          if (entry.extra?.toast !== undefined && entry.extra.toast !== "key-check") add(entry.message);
          return sink.log(entry);
        },
      };
    },
  };
}
