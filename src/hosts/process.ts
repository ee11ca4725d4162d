/**
 * The process-wide dependencies of the 2.x adapter: one explicit registry of engines for this process, shared by
 * every plugin instance (2.x runs `setup` once per project/worktree, packages/core/src/plugin/hooks.ts
 * `makeLocationNode`) and by both package entries (tsup puts this module in one shared chunk).
 */
import { systemClock } from "../util/clock.js";
import { shimEngines } from "./engine-shim.js";
import type { V2Deps, V2LogLevel } from "./opencode-v2.js";

function log(level: V2LogLevel, message: string): void {
  // The 2.x server's stderr goes to its log; the promise context offers no logger (opencode-v2.md section 2).
  console.error(`[oc-zai-multi-account] ${level}: ${message}`);
}

export const processV2Deps: V2Deps = { clock: systemClock, engine: shimEngines({}, log), log };
