import type { ConfigIO } from "../config/load.js";
import { keysFilePath } from "../config/load.js";
import { nodeConfigIO } from "../config/node-io.js";
import type { LoginCredential } from "../config/login-keys.js";
import type { ProviderId } from "../config/schema.js";
import { fingerprint } from "../util/redact.js";
import { credentialFingerprint } from "./login-check.js";
import { createEngine, type Engine, type EngineDeps } from "./engine.js";
import type { EngineRegistry } from "./registry.js";

/** The engine shared by every instance in the process that reads the same keys with the same stored credential. */
export function engineFor(
  registry: EngineRegistry,
  provider: ProviderId,
  deps: EngineDeps,
  auth: LoginCredential | undefined,
): Promise<Engine> {
  const envKeys = deps.io.env.ZAI_API_KEYS;
  const login = auth ? credentialFingerprint(auth) : "-";
  const keysFile = keysFilePath(deps.io.env, deps.io.homedir);
  const key = [provider, keysFile, envKeys ? fingerprint(envKeys) : "-", login].join("\u0000");
  return registry.get(key, () => createEngine(provider, deps, auth));
}

/** The keys file named by the plugin entry's options wins over ZAI_KEYS_FILE. */
export function configIO(options: Readonly<Record<string, unknown>> | undefined): ConfigIO {
  const keysFile = typeof options?.keysFile === "string" ? options.keysFile : undefined;
  return nodeConfigIO(keysFile ? { ...process.env, ZAI_KEYS_FILE: keysFile } : process.env);
}
