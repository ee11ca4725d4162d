import { execFile } from "node:child_process";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ConfigIO } from "../config/load.js";
import { nodeConfigIO } from "../config/node-io.js";
import { installedOpencodeVersion } from "./opencode-generation.js";
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
  /** Imports a module by path (doctor checks that the plugin entry loads and exports only functions). */
  importModule(path: string): Promise<Record<string, unknown>>;
  /**
   * Creates the directory if needed and writes and removes a scratch file in it: undefined when that works, else why
   * not.
   */
  probeWritable(dir: string): Promise<string | undefined>;
  /** What `opencode --version` prints (OPENCODE_BIN, else `opencode` on PATH), or undefined when it cannot run. */
  opencodeVersion(): Promise<string | undefined>;
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
    exists: async (path) =>
      access(path).then(
        () => true,
        () => false,
      ),
    importModule: async (path) => ({ ...((await import(pathToFileURL(path).href)) as Record<string, unknown>) }),
    probeWritable: async (dir) => {
      const scratch = join(dir, `.oc-zai-doctor-${process.pid}.tmp`);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(scratch, "");
        await rm(scratch, { force: true });
        return undefined;
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    },
    opencodeVersion: () =>
      installedOpencodeVersion(
        (command, args) =>
          new Promise((resolve, reject) =>
            execFile(process.env.OPENCODE_BIN || command, args, { timeout: 5_000 }, (error, stdout) =>
              error ? reject(error) : resolve(String(stdout)),
            ),
          ),
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
