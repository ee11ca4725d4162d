import type { ConfigIO } from "../config/load.js";
import { keysFilePath } from "../config/load.js";
import { nodeConfigIO } from "../config/node-io.js";
import type { ProviderId } from "../config/schema.js";
import { fingerprint } from "../util/redact.js";
import { createEngine, type Engine, type EngineDeps } from "./engine.js";
import type { EngineRegistry } from "./registry.js";

/** The engine shared by every instance in the process that reads the same keys with the same stored credential. */
export function engineFor(registry: EngineRegistry, provider: ProviderId, deps: EngineDeps, authKey: string | undefined): Promise<Engine> {
  const envKeys = deps.io.env.ZAI_API_KEYS;
  const key = [provider, keysFilePath(deps.io.env, deps.io.homedir), envKeys ? fingerprint(envKeys) : "-", authKey ? fingerprint(authKey) : "-"].join("\u0000");
  return registry.get(key, () => createEngine(provider, deps, authKey));
}

/** The keys file named by the plugin entry's options wins over ZAI_KEYS_FILE. */
export function configIO(options: Readonly<Record<string, unknown>> | undefined): ConfigIO {
  const keysFile = typeof options?.keysFile === "string" ? options.keysFile : undefined;
  return nodeConfigIO(keysFile ? { ...process.env, ZAI_KEYS_FILE: keysFile } : process.env);
}
