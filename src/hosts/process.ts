/**
 * The process-wide dependencies of the 2.x adapter: the process's engine registry (src/engine/registry.ts), shared
 * with the 1.x adapter, by every 2.x plugin instance (2.x runs `setup` once per project/worktree,
 * packages/core/src/plugin/hooks.ts `makeLocationNode`) and by both package entries (one shared chunk).
 */
import { processEngines } from "../engine/registry.js";
import { systemClock } from "../util/clock.js";
import { systemRandom } from "../util/random.js";
import { configIO } from "../engine/for-host.js";
import type { V2Deps, V2LogLevel } from "./opencode-v2.js";

function log(level: V2LogLevel, message: string): void {
  // The promise context offers no logger (opencode-v2.md section 2); the 2.x server's stderr goes to its log.
  console.error(`[oc-zai-multi-account] ${level}: ${message}`);
}

export const processV2Deps: V2Deps = {
  clock: systemClock,
  random: systemRandom,
  fetch: (url, init) => globalThis.fetch(url, init),
  registry: processEngines,
  io: (options) => configIO(options.keysFile ? { keysFile: options.keysFile } : {}),
  log,
};
