import { access } from "node:fs/promises";
import { homedir } from "node:os";
import type { ConfigIO } from "../config/load.js";
import { nodeConfigIO } from "../config/node-io.js";
import { nodeStateFs, type StateFs } from "../state/state-fs.js";
import { systemClock, type Clock } from "../util/clock.js";

/** Everything a CLI command touches in the outside world; `nodeCliEnv` gives the real one. */
export interface CliEnv {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  homedir: string;
  /** File text, or undefined when it does not exist. Other failures throw. */
  readFile: ConfigIO["readFile"];
  fileMode: ConfigIO["fileMode"];
  exists(path: string): Promise<boolean>;
  stateFs: StateFs;
  clock: Clock;
  fetch: typeof globalThis.fetch;
  stdout(text: string): void;
  stderr(text: string): void;
  version: string;
  /** This package's plugin entry (dist/index.js), to recognise a file path in opencode.json. */
  ownPluginPath: string | undefined;
}

export function nodeCliEnv(options: { version: string; ownPluginPath: string | undefined }): CliEnv {
  const io = nodeConfigIO(process.env);
  return {
    env: process.env,
    cwd: process.cwd(),
    homedir: process.env.HOME || homedir(),
    readFile: io.readFile,
    fileMode: io.fileMode,
    exists: async (path) => access(path).then(
      () => true,
      () => false,
    ),
    stateFs: nodeStateFs,
    clock: systemClock,
    fetch: (input, init) => globalThis.fetch(input, init),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    version: options.version,
    ownPluginPath: options.ownPluginPath,
  };
}
