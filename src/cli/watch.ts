import type { ProviderId } from "../config/schema.js";
import { inspectLedger } from "../ledger/inspect.js";
import { eventsPath, readEvents } from "../state/event-log.js";
import { quotaFilePath, readQuotaFile } from "../quota/quota-file.js";
import { quotaStatus } from "../quota/quota-status.js";
import { stateIds } from "../state/ids.js";
import { pruneState } from "../state/merge.js";
import { emptyProviderState } from "../state/state-schema.js";
import { readStateFile } from "../state/store.js";
import type { CliEnv } from "./cli-env.js";
import { readSetup, type Setup } from "./setup.js";
import { accountStatuses } from "./status-report.js";
import { startLimit } from "../config/schema.js";
import { limitLookup } from "./limit-view.js";
import { watchModel, type WatchModel } from "./watch-model.js";
import { renderWatch } from "./watch-render.js";

/** What the watch loop needs from the terminal; `nodeWatchTerminal` (watch-terminal.ts) gives the real one. */
export interface WatchTerminal {
  /** A TTY: redraw in place, read `q`. Otherwise print a plain snapshot every interval. */
  interactive: boolean;
  color: boolean;
  columns(): number;
  /** Shows a frame: in place on a TTY, appended otherwise. */
  draw(lines: string[]): void;
  /** Resolves after `ms`, or earlier (with true) when the user quits (`q`, Ctrl-C, SIGINT/SIGTERM). */
  wait(ms: number): Promise<boolean>;
  /** Leaves the terminal as it was (cursor, raw mode, listeners). */
  restore(): void;
}

export const WATCH_FOOTER = "q or Ctrl-C quits · in flight / limit per account and model, all processes";

/** `status --watch`: redraws every process's slots, limits, windows and last events about once a second. */
export async function watchCommand(
  cli: CliEnv,
  provider: ProviderId,
  intervalMs: number,
  terminal: WatchTerminal,
): Promise<number> {
  const setup = await readSetup(cli, provider);
  try {
    for (;;) {
      const model = await watchFrame(cli, setup, provider);
      const footer = terminal.interactive ? { footer: WATCH_FOOTER } : {};
      const lines = renderWatch(model, { width: terminal.columns(), color: terminal.color, ...footer });
      terminal.draw(terminal.interactive ? lines : [...lines, ""]);
      if (await terminal.wait(intervalMs)) return 0;
    }
  } finally {
    terminal.restore();
  }
}

/** Reads the state, quota and events files and the ledger once: one frame's data. */
export async function watchFrame(cli: CliEnv, setup: Setup, provider: ProviderId): Promise<WatchModel> {
  const now = cli.clock.now();
  const loaded = setup.keys.loaded;
  const keys = loaded?.keys ?? [];
  const ids = stateIds(keys);
  const path = setup.statePath;
  const read = path === undefined ? undefined : await readStateFile(cli.stateFs, path);
  const section = read?.kind === "ok" ? read.file.providers[provider] : undefined;
  const state = pruneState(section ?? emptyProviderState(), now);
  const quotas = path === undefined ? undefined : await readQuotaFile(cli.stateFs, quotaFilePath(path));
  const startOf = (model: string) => startLimit(loaded?.settings, model);
  const accounts = accountStatuses({ keys, state, ids, now, startOf }).map((a) => ({
    ...a,
    quota: quotas && quotaStatus(quotas, provider, a.account, ids),
  }));
  const where = {
    env: cli.env,
    homedir: cli.homedir,
    statePath: path,
    provider,
    redisFromFile: loaded?.settings.redis,
  };
  const ledger = await inspectLedger({ ...where, timeoutMs: 800 });
  const events = path === undefined ? [] : await readEvents(cli.stateFs, eventsPath(path));
  return watchModel({ provider, now, ledger, accounts, limitOf: limitLookup(state, ids, loaded?.settings), events });
}
