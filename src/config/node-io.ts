import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import type { ConfigIO } from "./load.js";

/** The real file system and environment, for production use. */
export function nodeConfigIO(env: ConfigIO["env"] = process.env): ConfigIO {
  return {
    env,
    homedir: env.HOME || homedir(),
    readFile: async (path) => {
      try {
        return await readFile(path, "utf8");
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return undefined;
        throw error;
      }
    },
    fileMode: async (path) => {
      if (process.platform === "win32") return undefined;
      return (await stat(path)).mode & 0o777;
    },
  };
}
