import { createLogUpdate } from "log-update";
import type { WatchTerminal } from "./watch.js";

/**
 * The real terminal for `status --watch`. On a TTY: log-update redraws in place (cursor hidden, shown again on exit),
 * stdin in raw mode reads `q` and Ctrl-C; colours unless NO_COLOR is set. Otherwise plain snapshots, appended, until
 * SIGINT or SIGTERM. Every frame passes `write` (the CLI's redacting stdout).
 */
export function nodeWatchTerminal(
  env: Readonly<Record<string, string | undefined>>,
  write: (text: string) => void,
): WatchTerminal {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const interactive = stdout.isTTY === true && stdin.isTTY === true;
  // log-update reads the size from the stream it writes to; the text goes through `write` (redacted).
  const stream = {
    write: (text: string) => {
      write(text);
      return true;
    },
    get columns() {
      return stdout.columns ?? 80;
    },
    get rows() {
      return stdout.rows ?? 24;
    },
  };
  const update = createLogUpdate(stream as unknown as NodeJS.WriteStream);
  let quit = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    quit = true;
    wake?.();
  };
  const onKey = (data: Buffer) => {
    const key = data.toString("utf8");
    if (key === "q" || key === "Q" || key === "\u0003") stop();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  if (interactive) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onKey);
  }
  return {
    interactive,
    color: interactive && !env.NO_COLOR,
    columns: () => (interactive ? (stdout.columns ?? 80) : 80),
    draw: (lines) => (interactive ? update(lines.join("\n")) : write(`${lines.join("\n")}\n`)),
    wait: (ms) =>
      new Promise<boolean>((resolve) => {
        if (quit) return resolve(true);
        const timer = setTimeout(() => resolve(quit), ms);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      }),
    restore: () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      if (interactive) {
        update.done();
        stdin.off("data", onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
    },
  };
}
