import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { keysFromEnv, type ApiKey, type KeySource } from "./keys.js";
import { keysFromLogin, loginCredential, type LoginCredential } from "./login-keys.js";
import { locate, parseJsonText, type ParsedText } from "./json-text.js";
import { ConfigProblemsError, type ConfigProblem } from "./problems.js";
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
  /** How many keys the stored login credential holds (used only when the sources before it have none). */
  loginKeys: number;
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
 * the env variable, the keys file, the keys OpenCode stored at `opencode providers login` (the placeholder is not a
 * key). The file's settings apply whichever source gave the keys. Throws ConfigError naming file and field.
 */
export async function loadConfig(
  io: ConfigIO,
  provider: ProviderId,
  auth: string | LoginCredential | undefined,
): Promise<LoadedConfig> {
  const path = keysFilePath(io.env, io.homedir);
  const warnings: string[] = [];
  const text = await readKeysFile(io, path);
  const file = text === undefined ? keysFileSchema.parse({}) : parseKeysFile(text, path);
  if (text !== undefined && file.keys.length > 0) {
    const mode = await io.fileMode(path).catch(() => undefined);
    const problem = keysFileModeProblem(mode);
    if (problem) warnings.push(`${path} ${problem.text}; run: chmod 600 ${path}`);
  }
  const settings = applyEnvOverrides(settingsOf(file), io.env);

  const variable = ENV_KEYS_VARIABLE[provider];
  const envValue = io.env[variable];
  const fromEnv = keysFromEnv(envValue ?? "", provider, variable);
  if (envValue !== undefined && envValue !== "" && fromEnv.length === 0) {
    warnings.push(
      `${variable} is set but holds no key (only separators, spaces or the placeholder); keys come from the next ` +
        "source",
    );
  }
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
  const credential = loginCredential(auth);
  const login = credential === undefined ? undefined : keysFromLogin(credential, provider);

  const loginKeys = login?.keys.length ?? 0;
  const base = { settings, keysFile: path, keysFileExists: text !== undefined, loginKeys, warnings };
  if (fromEnv.length > 0) return { ...base, keys: fromEnv, keySource: "env" };
  if (fromFile.length > 0) return { ...base, keys: fromFile, keySource: "file" };
  if (login && login.keys.length > 0) {
    warnings.push(...login.problems);
    return { ...base, keys: login.keys, keySource: "auth" };
  }
  return { ...base, keys: [], keySource: "none" };
}

/**
 * What is wrong with the keys file's permission bits, if anything. Readable by others: a warning (the README and
 * `doctor` agree). Writable by others: a failure in `doctor`, since anyone who can write it can redirect the keys.
 */
export function keysFileModeProblem(mode: number | undefined): { level: "warn" | "fail"; text: string } | undefined {
  if (mode === undefined) return undefined;
  const octal = mode.toString(8).padStart(3, "0");
  if ((mode & 0o022) !== 0) return { level: "fail", text: `is writable by group or others (mode ${octal})` };
  if ((mode & 0o044) !== 0) return { level: "warn", text: `is readable by group or others (mode ${octal})` };
  return undefined;
}

async function readKeysFile(io: ConfigIO, path: string): Promise<string | undefined> {
  try {
    return await io.readFile(path);
  } catch (error) {
    throw new ConfigError(path, undefined, readFailure(error), { cause: error });
  }
}

/** Why a file could not be read, in words; the fix is usually obvious from them. */
export function readFailure(error: unknown): string {
  const code = (error as { code?: string }).code ?? "unknown error";
  switch (code) {
    case "EISDIR":
      return "is a directory, not a file (expected a JSON file here)";
    case "EACCES":
    case "EPERM":
      return `cannot be read: permission denied (${code})`;
    case "ENOTDIR":
      return "cannot be read: a part of the path is a file, not a directory (ENOTDIR)";
    default:
      return `cannot be read (${code})`;
  }
}

/**
 * Parses and validates the keys file text (strict JSON). Reports every problem at once, each with its field and
 * line/column, as a ConfigProblemsError naming the file. Messages never quote a value.
 */
export function parseKeysFile(text: string, path: string): KeysFile {
  const parsed = parseJsonText(text, { jsonc: false });
  if (parsed.problems.length > 0) {
    throw new ConfigProblemsError(
      path,
      parsed.problems.map((p) => ({
        field: undefined,
        position: { line: p.line, column: p.column },
        message: `not valid JSON: ${p.message}`,
      })),
    );
  }
  const result = keysFileSchema.safeParse(parsed.value);
  const problems: ConfigProblem[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path_ = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      const key = issue.code === "unrecognized_keys" && issue.keys.length === 1 ? issue.keys[0] : undefined;
      problems.push({
        field: path_.map(String).join(".") || undefined,
        position: locate(text, parsed.tree, path_, key),
        message: issue.message,
      });
    }
  }
  const entries = Array.isArray((parsed.value as { keys?: unknown } | undefined)?.keys)
    ? (parsed.value as { keys: unknown[] }).keys
    : [];
  problems.push(...duplicateProblems(entries, text, parsed.tree));
  if (problems.length > 0 || !result.success) throw new ConfigProblemsError(path, problems);
  return result.data;
}

/** Two entries with one id, or one API key listed twice (under any ids). */
function duplicateProblems(entries: readonly unknown[], text: string, tree: ParsedText["tree"]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const ids = new Map<string, number>();
  const secrets = new Map<string, number>();
  entries.forEach((entry, index) => {
    if (typeof entry !== "object" || entry === null) return;
    const { id, apiKey } = entry as { id?: unknown; apiKey?: unknown };
    if (typeof id === "string" && id.trim() !== "") {
      const same = ids.get(id.trim());
      if (same !== undefined)
        problems.push({
          field: `keys.${index}.id`,
          position: locate(text, tree, ["keys", index, "id"]),
          message: `duplicate id "${id.trim()}" (also keys.${same}.id)`,
        });
      else ids.set(id.trim(), index);
    }
    if (typeof apiKey === "string" && apiKey.trim() !== "") {
      const same = secrets.get(apiKey.trim());
      const other = same === undefined ? undefined : (entries[same] as { id?: unknown }).id;
      if (same !== undefined) {
        problems.push({
          field: `keys.${index}.apiKey`,
          position: locate(text, tree, ["keys", index, "apiKey"]),
          message: `same API key as keys.${same}${typeof other === "string" ? ` ("${other}")` : ""}`,
        });
      } else secrets.set(apiKey.trim(), index);
    }
  });
  return problems;
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
      throw new ConfigError(
        "ZAI_ROTATION_STRATEGY",
        undefined,
        `must be "round-robin" or "fill-first", got "${strategy}"`,
      );
    }
    rotation = { ...rotation, strategy };
  }
  const cooldown = env.ZAI_COOLDOWN_MS?.trim();
  if (cooldown) {
    const ms = Number(cooldown);
    if (!Number.isInteger(ms) || ms < 0) {
      throw new ConfigError(
        "ZAI_COOLDOWN_MS",
        undefined,
        `must be a whole number of milliseconds >= 0, got "${cooldown}"`,
      );
    }
    rotation = { ...rotation, cooldownMs: ms };
  }
  return { ...settings, rotation };
}
