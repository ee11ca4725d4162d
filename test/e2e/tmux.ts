/**
 * A real terminal for the end-to-end tests: a command in a detached tmux session on its own server (socket), with
 * the case's environment, read with `capture-pane` and typed into with `send-keys`, as a person would.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";

export interface Tmux {
  /** What the pane shows now (no colours). */
  screen(): string;
  /** Waits until the pane shows `pattern`; returns the screen. Throws with the screen after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** tmux key names: "Enter", "Down", "C-c", "q". */
  keys(...names: string[]): void;
  /** Types text literally (as a paste). */
  type(text: string): void;
  kill(): void;
}

/**
 * Starts `argv` in a fresh tmux server. The command's exit status is printed as `[exit N]` and the pane stays open,
 * so a test can read the last screen. `stop()` frees the server.
 */
export function startTmux(
  argv: readonly string[],
  options: { env: Record<string, string>; cwd: string; columns?: number; rows?: number },
): Tmux & { stop(): void } {
  const socket = `oc-e2e-${randomUUID().slice(0, 8)}`;
  const tmux = (...args: string[]) =>
    execFileSync("tmux", ["-L", socket, ...args], { env: options.env, cwd: options.cwd, encoding: "utf8" });
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const script = `${quoted}; echo "[exit $?]"; sleep 3600`;
  tmux(
    "new-session",
    "-d",
    "-s",
    "t",
    "-x",
    String(options.columns ?? 100),
    "-y",
    String(options.rows ?? 40),
    "-c",
    options.cwd,
    "sh",
    "-c",
    script,
  );
  const screen = () => tmux("capture-pane", "-p", "-t", "t");
  const kill = () => {
    try {
      tmux("kill-server");
    } catch {
      // already gone
    }
  };
  return {
    screen,
    async waitFor(pattern, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const now = screen();
        if (pattern.test(now)) return now;
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; the screen:\n${now}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    keys: (...names) => void tmux("send-keys", "-t", "t", ...names),
    type: (text) => void tmux("send-keys", "-t", "t", "-l", text),
    kill,
    stop: kill,
  };
}
