import { dirname } from "node:path";
import { STATE_FILE_OFF } from "../../state/paths.js";
import type { Check } from "../report.js";
import type { DoctorFacts } from "./types.js";

/** The shared state file: readable, and its directory writable (else cooldowns stay in one process's memory). */

export function stateFileCheck({ setup, state }: DoctorFacts): Check {
  const { statePath } = setup;
  if (statePath === undefined || state === undefined) {
    return {
      id: "state",
      level: "info",
      message:
        `state file: off (ZAI_STATE_FILE=${STATE_FILE_OFF}); ` + "cooldowns are not shared between OpenCode processes",
    };
  }
  switch (state.kind) {
    case "ok":
      return { id: "state", level: "info", message: `state file: ${statePath}` };
    case "missing":
      return { id: "state", level: "info", message: `state file: ${statePath} (created on first use)` };
    case "corrupt":
      return {
        id: "state",
        level: "warn",
        message: `state file ${statePath} is corrupt (${state.problem}); the plugin starts fresh and replaces it`,
        fix: `nothing needed; or delete ${statePath}`,
      };
    case "unreadable":
      return {
        id: "state",
        level: "warn",
        message: `${state.problem}: cooldowns are kept in memory only`,
        fix: `check the permissions of ${statePath}`,
      };
    default:
      return state satisfies never;
  }
}

export function stateDirCheck({ setup, stateDirProblem }: DoctorFacts): Check[] {
  if (setup.statePath === undefined || stateDirProblem === undefined) return [];
  const dir = dirname(setup.statePath);
  return [
    {
      id: "state",
      level: "fail",
      message:
        `cannot write to ${dir} (${stateDirProblem}): cooldowns, disabled keys and learned limits would not be ` +
        "saved or shared between OpenCode processes",
      fix: `make ${dir} writable for this user, or set ZAI_STATE_FILE to a writable path (or to ${STATE_FILE_OFF})`,
    },
  ];
}
