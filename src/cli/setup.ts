import { basename, dirname, join } from "node:path";
import { keysFromEnv, PLACEHOLDER_KEY } from "../config/keys.js";
import type { LoginCredential } from "../config/login-keys.js";
import {
  ENV_KEYS_VARIABLE,
  keysFilePath,
  loadConfig,
  parseKeysFile,
  type ConfigIO,
  type LoadedConfig,
} from "../config/load.js";
import { problemsOf, type ConfigProblem } from "../config/problems.js";
import type { ProviderId } from "../config/schema.js";
import { stateFilePath } from "../state/paths.js";
import type { CliEnv } from "./cli-env.js";
import {
  authJsonPath,
  baseUrlOverride,
  globalConfigDir,
  providerEntry,
  readOpencodeConfigs,
  type OpencodeConfig,
} from "./opencode-config.js";
import { PACKAGE_NAME, isRecord, mentionsPackage, parsePluginSpec, type PluginSpec } from "./plugin-spec.js";

/** The plugin's entry in an opencode config. */
export interface PluginListing {
  configPath: string;
  spec: PluginSpec;
  /** A file spec whose file is not there (not built yet). */
  missingFile: boolean;
}

export interface AuthFacts {
  /** auth.json, or OPENCODE_AUTH_CONTENT when that is set. */
  where: string;
  status: "ok" | "no-file" | "no-entry" | "invalid" | "not-api";
  /** The stored credential: key text (may be the placeholder, or several keys) and login answers. Never printed. */
  credential: LoginCredential | undefined;
  problem: string | undefined;
}

export interface KeysFacts {
  path: string;
  /** Who chose the path, when not the default. */
  chosenBy: "ZAI_KEYS_FILE" | "plugin option keysFile" | undefined;
  exists: boolean;
  mode: number | undefined;
  /** Enabled keys on file for this provider; undefined when the file does not parse. */
  fileKeys: number | undefined;
  fileError: string | undefined;
  /** Each problem of the keys file (field, line/column), when it has any. */
  fileProblems: ConfigProblem[];
  loaded: LoadedConfig | undefined;
  loadError: string | undefined;
  envVariable: string;
  /** The env variable is set (not empty) but holds no key: only separators, spaces or the placeholder. */
  envHoldsNoKey: boolean;
}

/**
 * What doctor and status know about the setup. Holds key material (`auth.credential`, `keys.loaded`): never print
 * it whole.
 */
export interface Setup {
  provider: ProviderId;
  configs: OpencodeConfig[];
  plugin: PluginListing | undefined;
  /** A file spec that tries to load this package the wrong way (src/ instead of dist/index.js). */
  nearMiss: { configPath: string; spec: string } | undefined;
  stub: { path: string; entry: Record<string, unknown> } | undefined;
  baseURL: { value: string; path: string } | undefined;
  auth: AuthFacts;
  keys: KeysFacts;
  statePath: string | undefined;
  /** Where a global config would go: the fix for a missing plugin entry points here. */
  globalConfig: string;
}

export async function readSetup(cli: CliEnv, provider: ProviderId): Promise<Setup> {
  const configs = await readOpencodeConfigs(cli);
  const { plugin, nearMiss } = await findPlugin(cli, configs);
  const auth = await readAuth(cli, provider);
  const keysFileOption = plugin?.spec.options?.keysFile;
  const env = typeof keysFileOption === "string" ? { ...cli.env, ZAI_KEYS_FILE: keysFileOption } : cli.env;
  const chosenBy =
    typeof keysFileOption === "string" ? "plugin option keysFile" : cli.env.ZAI_KEYS_FILE ? "ZAI_KEYS_FILE" : undefined;
  const io: ConfigIO = { env, homedir: cli.homedir, readFile: cli.readFile, fileMode: cli.fileMode };
  return {
    provider,
    configs,
    plugin,
    nearMiss,
    stub: providerEntry(configs, provider),
    baseURL: baseUrlOverride(configs, provider),
    auth,
    keys: await readKeys(io, provider, auth.credential, chosenBy),
    statePath: stateFilePath(cli.env, cli.homedir),
    globalConfig: join(globalConfigDir(cli), "opencode.json"),
  };
}

async function findPlugin(
  cli: CliEnv,
  configs: readonly OpencodeConfig[],
): Promise<{ plugin: PluginListing | undefined; nearMiss: Setup["nearMiss"] }> {
  let nearMiss: Setup["nearMiss"];
  for (const config of configs) {
    const list = config.json?.plugin;
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      const spec = parsePluginSpec(entry, dirname(config.path), cli.homedir);
      if (!spec) continue;
      if (spec.npmName === PACKAGE_NAME)
        return { plugin: { configPath: config.path, spec, missingFile: false }, nearMiss };
      const path = spec.localPath;
      if (path === undefined) continue;
      // The package directory itself (a checkout, or an unpacked package): OpenCode loads its entry.
      if ((await packageNameAt(cli, path)) === PACKAGE_NAME)
        return { plugin: { configPath: config.path, spec, missingFile: false }, nearMiss };
      const ours =
        path === cli.ownPluginPath ||
        mentionsPackage(path) ||
        basename(path).startsWith(`${PACKAGE_NAME}-`) ||
        (await packageNameAt(cli, dirname(dirname(path)))) === PACKAGE_NAME;
      if (!ours) continue;
      const isEntry = basename(path) === "index.js" && basename(dirname(path)) === "dist";
      const isTarball = /\.(tgz|tar\.gz|tar)$/i.test(path);
      if (!isEntry && !isTarball) {
        nearMiss ??= { configPath: config.path, spec: spec.spec };
        continue;
      }
      return { plugin: { configPath: config.path, spec, missingFile: !(await cli.exists(path)) }, nearMiss };
    }
  }
  return { plugin: undefined, nearMiss };
}

/** The package name in `<dir>/package.json`, if there is one. */
async function packageNameAt(cli: CliEnv, dir: string): Promise<string | undefined> {
  try {
    const text = await cli.readFile(join(dir, "package.json"));
    const json: unknown = text === undefined ? undefined : JSON.parse(text);
    return isRecord(json) && typeof json.name === "string" ? json.name : undefined;
  } catch {
    return undefined;
  }
}

async function readAuth(cli: CliEnv, provider: ProviderId): Promise<AuthFacts> {
  const fromEnv = cli.env.OPENCODE_AUTH_CONTENT;
  const where = fromEnv ? "OPENCODE_AUTH_CONTENT" : authJsonPath(cli);
  let text: string | undefined;
  try {
    text = fromEnv ?? (await cli.readFile(where));
  } catch (error) {
    return {
      where,
      status: "invalid",
      credential: undefined,
      problem: `cannot be read (${(error as { code?: string }).code ?? "error"})`,
    };
  }
  if (text === undefined) return { where, status: "no-file", credential: undefined, problem: undefined };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { where, status: "invalid", credential: undefined, problem: "is not valid JSON" };
  }
  const entry = isRecord(json) ? json[provider] : undefined;
  if (!isRecord(entry)) return { where, status: "no-entry", credential: undefined, problem: undefined };
  if (entry.type !== "api")
    return {
      where,
      status: "not-api",
      credential: undefined,
      problem: `entry has type "${String(entry.type)}", expected "api"`,
    };
  const metadata = isRecord(entry.metadata) ? stringsOf(entry.metadata) : undefined;
  const key = typeof entry.key === "string" ? entry.key : PLACEHOLDER_KEY;
  return { where, status: "ok", credential: { key, metadata }, problem: undefined };
}

function stringsOf(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => typeof e[1] === "string"));
}

async function readKeys(
  io: ConfigIO,
  provider: ProviderId,
  auth: LoginCredential | undefined,
  chosenBy: KeysFacts["chosenBy"],
): Promise<KeysFacts> {
  const path = keysFilePath(io.env, io.homedir);
  const facts: KeysFacts = {
    path,
    chosenBy,
    exists: false,
    mode: undefined,
    fileKeys: undefined,
    fileError: undefined,
    fileProblems: [],
    loaded: undefined,
    loadError: undefined,
    envVariable: ENV_KEYS_VARIABLE[provider],
    envHoldsNoKey: false,
  };
  const envValue = io.env[ENV_KEYS_VARIABLE[provider]];
  facts.envHoldsNoKey =
    envValue !== undefined &&
    envValue !== "" &&
    keysFromEnv(envValue, provider, ENV_KEYS_VARIABLE[provider]).length === 0;
  try {
    const text = await io.readFile(path);
    if (text !== undefined) {
      facts.exists = true;
      facts.mode = await io.fileMode(path).catch(() => undefined);
      facts.fileKeys = parseKeysFile(text, path).keys.filter((k) => k.enabled && k.provider === provider).length;
    }
  } catch (error) {
    facts.fileError = error instanceof Error ? error.message : String(error);
    facts.fileProblems = problemsOf(error);
  }
  try {
    facts.loaded = await loadConfig(io, provider, auth);
  } catch (error) {
    facts.loadError = error instanceof Error ? error.message : String(error);
  }
  return facts;
}
