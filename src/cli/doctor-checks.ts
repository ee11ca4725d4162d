import { authCheck, configCheck, pluginCheck, stubCheck } from "./checks/opencode.js";
import { endpointCheck } from "./checks/endpoint.js";
import { keysCheck, keysFileCheck } from "./checks/keys.js";
import { stateDirCheck, stateFileCheck } from "./checks/state.js";
import type { DoctorCheck, DoctorFacts } from "./checks/types.js";
import { generationChecks, generationOf } from "./opencode-generation.js";
import type { Check } from "./report.js";

export { DEFAULT_BASE_URL } from "./checks/endpoint.js";
export type { DoctorCheck, DoctorFacts } from "./checks/types.js";

/**
 * The troubleshooting checklist, in the order a user fixes things. Each check is one small pure function of the
 * facts (checks/*.ts); add one by adding it here (and its fact to doctor-facts.ts when it needs a new one).
 */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  configCheck,
  generationCheck,
  forGeneration1(pluginCheck),
  stubCheck,
  authCheck,
  keysFileCheck,
  keysCheck,
  endpointCheck,
  stateFileCheck,
  stateDirCheck,
];

/** Pure: every check over the facts. */
export function doctorChecks(facts: DoctorFacts, checks: readonly DoctorCheck[] = DOCTOR_CHECKS): Check[] {
  return checks.flatMap((check) => check(facts));
}

/**
 * Which OpenCode is installed and, for 2.x, whether its `plugins` list loads this package for the provider.
 * Says nothing when OpenCode cannot be run here (the other checks still read its files).
 */
function generationCheck({ setup, opencodeVersion }: DoctorFacts): readonly Check[] {
  const generation = generationOf(opencodeVersion);
  if (generation === undefined) return [];
  const rows = generationChecks({
    version: opencodeVersion,
    configs: setup.configs,
    provider: setup.provider,
    globalConfig: setup.globalConfig,
  });
  // 1.x: the plugin check below says more (whether OpenCode can load what is listed).
  return generation === 1 ? rows.filter((row) => row.id === "opencode") : rows;
}

/** A check about 1.x's `plugin` list: skipped when OpenCode 2.x is installed (it reads `plugins`). */
function forGeneration1(check: DoctorCheck): DoctorCheck {
  return (facts) => (generationOf(facts.opencodeVersion) === 2 ? [] : check(facts));
}
