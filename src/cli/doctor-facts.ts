import { dirname } from "node:path";
import type { ProviderId } from "../config/schema.js";
import { readStateFile } from "../state/store.js";
import type { DoctorFacts } from "./checks/types.js";
import type { CliEnv } from "./cli-env.js";
import { resolvePluginTarget } from "./plugin-target.js";
import { readSetup } from "./setup.js";

/**
 * Reads everything the doctor checks need, once: configs, auth, keys, the plugin's target, the state file and its
 * directory.
 */
export async function gatherDoctorFacts(cli: CliEnv, provider: ProviderId): Promise<DoctorFacts> {
  const setup = await readSetup(cli, provider);
  const state = setup.statePath === undefined ? undefined : await readStateFile(cli.stateFs, setup.statePath);
  const stateDirProblem = setup.statePath === undefined ? undefined : await cli.probeWritable(dirname(setup.statePath));
  const pluginTarget = setup.plugin ? await resolvePluginTarget(cli, setup.plugin.spec) : undefined;
  const opencodeVersion = await cli.opencodeVersion();
  return { setup, state, stateDirProblem, pluginTarget, opencodeVersion };
}
