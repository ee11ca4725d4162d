import type { ReadResult } from "../../state/store.js";
import type { PluginTarget } from "../plugin-target.js";
import type { Check } from "../report.js";
import type { Setup } from "../setup.js";

/** Everything the doctor checks look at, gathered once (doctor-facts.ts). Holds key material: never print it whole. */
export interface DoctorFacts {
  setup: Setup;
  /** The state file as read, or undefined when the state file is off. */
  state: ReadResult | undefined;
  /** Why the state file's directory is not writable (an errno code), or undefined when it is (or the file is off). */
  stateDirProblem: string | undefined;
  /** Where OpenCode would load the listed plugin from, when it is listed. */
  pluginTarget: PluginTarget | undefined;
}

/** One doctor check: pure, looks at the facts, says one or more rows. Add a check by adding a function to the list. */
export type DoctorCheck = (facts: DoctorFacts) => Check | readonly Check[];
