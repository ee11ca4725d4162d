import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { keyFromAuth, keysFromEnv, type ApiKey, type KeySource } from "./keys.js";
import { keysFileSchema, type KeysFile, type ProviderId, type Settings } from "./schema.js";

/** What the loader needs from the outside world; injected so tests use plain objects. */
export interface ConfigIO {
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  /** File text, or undefined when the file does not exist. Other failures throw. */
  readFile(path: string): Promise<string | undefined>;
  /** Permission bits of the file (`stat.mode & 0o777`), or undefined if unknown (e.g. on Windows). */
  fileMode(path: string): Promise<number | undefined>;
}

export interface LoadedConfig {
  keys: ApiKey[];
  settings: Settings;
  /** Which source supplied the keys, or "none". */
  keySource: KeySource | "none";
  keysFile: string;
  keysFileExists: boolean;
  warnings: string[];
}

/** Per provider: the env variable that lists keys. */
export const ENV_KEYS_VARIABLE: Record<ProviderId, string> = {
  "zai-coding-plan": "ZAI_API_KEYS",
  "zhipuai-coding-plan": "ZHIPU_API_KEYS",
};

export function keysFilePath(env: ConfigIO["env"], homedir: string): string {
  if (env.ZAI_KEYS_FILE) return env.ZAI_KEYS_FILE;
  const configHome = env.XDG_CONFIG_HOME || join(homedir, ".config");
  return join(configHome, "opencode", "zai-keys.json");
}

/**
 * Resolves keys and settings for one provider. Keys come from the first source that has any:
 * the env variable, the keys file, the key OpenCode stored (unless it is the placeholder).
 * The file's settings apply whichever source gave the keys. Throws ConfigError naming file and field.
 */
export async function loadConfig(io: ConfigIO, provider: ProviderId, authKey: string | undefined): Promise<LoadedConfig> {
  const path = keysFilePath(io.env, io.homedir);
  const warnings: string[] = [];
  const text = await readKeysFile(io, path);
  const file = text === undefined ? keysFileSchema.parse({}) : parseKeysFile(text, path);
  if (text !== undefined && file.keys.length > 0) {
    const mode = await io.fileMode(path).catch(() => undefined);
    if (mode !== undefined && (mode & 0o077) !== 0) {
      warnings.push(`${path} is readable by group or others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
    }
  }
  const settings = applyEnvOverrides(settingsOf(file), io.env);

  const variable = ENV_KEYS_VARIABLE[provider];
  const fromEnv = keysFromEnv(io.env[variable] ?? "", provider, variable);
  const fromFile: ApiKey[] = file.keys
    .filter((k) => k.enabled && k.provider === provider)
    .map((k) => ({
      id: k.id,
      label: k.label ?? k.id,
      apiKey: k.apiKey,
      account: k.account ?? k.id,
      provider,
      source: "file" as const,
    }));
  const fromAuth = authKey === undefined ? undefined : keyFromAuth(authKey, provider);

  const base = { settings, keysFile: path, keysFileExists: text !== undefined, warnings };
  if (fromEnv.length > 0) return { ...base, keys: fromEnv, keySource: "env" };
  if (fromFile.length > 0) return { ...base, keys: fromFile, keySource: "file" };
  if (fromAuth) return { ...base, keys: [fromAuth], keySource: "auth" };
  return { ...base, keys: [], keySource: "none" };
}

async function readKeysFile(io: ConfigIO, path: string): Promise<string | undefined> {
  try {
    return await io.readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unknown error";
    throw new ConfigError(path, undefined, `cannot be read (${code})`, { cause: error });
  }
}

/** Parses and validates the keys file text. Error messages name the file and field, never a value. */
export function parseKeysFile(text: string, path: string): KeysFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, undefined, `is not valid JSON${jsonErrorLocation(text, error)}`);
  }
  const result = keysFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(path, issue.path.map(String).join(".") || undefined, issue.message);
  }
  const file = result.data;
  const ids = new Map<string, number>();
  const secrets = new Map<string, number>();
  file.keys.forEach((key, index) => {
    const sameId = ids.get(key.id);
    if (sameId !== undefined) throw new ConfigError(path, `keys.${index}.id`, `duplicate id "${key.id}" (also keys.${sameId}.id)`);
    ids.set(key.id, index);
    const sameKey = secrets.get(key.apiKey);
    if (sameKey !== undefined) throw new ConfigError(path, `keys.${index}.apiKey`, `same API key as keys.${sameKey} ("${file.keys[sameKey]!.id}")`);
    secrets.set(key.apiKey, index);
  });
  return file;
}

/** "at line 3, column 5" from a JSON.parse error, without echoing any of the text (it may hold keys). */
function jsonErrorLocation(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return ` at line ${lineCol[1]}, column ${lineCol[2]}`;
  const position = /position (\d+)/.exec(message);
  if (!position) return "";
  const before = text.slice(0, Number(position[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return ` at line ${line}, column ${column}`;
}

function settingsOf(file: KeysFile): Settings {
  const { $schema: _schema, keys: _keys, ...settings } = file;
  return settings;
}

function applyEnvOverrides(settings: Settings, env: ConfigIO["env"]): Settings {
  let rotation = settings.rotation;
  const strategy = env.ZAI_ROTATION_STRATEGY?.trim();
  if (strategy) {
    if (strategy !== "round-robin" && strategy !== "fill-first") {
      throw new ConfigError("ZAI_ROTATION_STRATEGY", undefined, `must be "round-robin" or "fill-first", got "${strategy}"`);
    }
    rotation = { ...rotation, strategy };
  }
  const cooldown = env.ZAI_COOLDOWN_MS?.trim();
  if (cooldown) {
    const ms = Number(cooldown);
    if (!Number.isInteger(ms) || ms < 0) {
      throw new ConfigError("ZAI_COOLDOWN_MS", undefined, `must be a whole number of milliseconds >= 0, got "${cooldown}"`);
    }
    rotation = { ...rotation, cooldownMs: ms };
  }
  return { ...settings, rotation };
}
