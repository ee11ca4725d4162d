import { join } from "node:path";

/** Set `ZAI_STATE_FILE` to a path to move the state file, or to this value to keep state in memory only. */
export const STATE_FILE_OFF = "off";
export const STATE_FILE_NAME = "zai-multi-account-state.json";

/**
 * Where the shared state file lives: `ZAI_STATE_FILE`, else `$XDG_STATE_HOME/opencode/…`, else
 * `~/.local/state/opencode/…`. Undefined when persistence is off.
 */
export function stateFilePath(env: Readonly<Record<string, string | undefined>>, homedir: string): string | undefined {
  const override = env.ZAI_STATE_FILE?.trim();
  if (override) return override.toLowerCase() === STATE_FILE_OFF ? undefined : override;
  const stateHome = env.XDG_STATE_HOME || join(homedir, ".local", "state");
  return join(stateHome, "opencode", STATE_FILE_NAME);
}
