import { authCheck, configCheck, pluginCheck, stubCheck } from "./checks/opencode.js";
import { endpointCheck } from "./checks/endpoint.js";
import { keysCheck, keysFileCheck } from "./checks/keys.js";
import { stateDirCheck, stateFileCheck } from "./checks/state.js";
import type { DoctorCheck, DoctorFacts } from "./checks/types.js";
import type { Check } from "./report.js";

export { DEFAULT_BASE_URL } from "./checks/endpoint.js";
export type { DoctorCheck, DoctorFacts } from "./checks/types.js";

/**
 * The troubleshooting checklist, in the order a user fixes things. Each check is one small pure function of the
 * facts (checks/*.ts); add one by adding it here (and its fact to doctor-facts.ts when it needs a new one).
 */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  configCheck,
  pluginCheck,
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
