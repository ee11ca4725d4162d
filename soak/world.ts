/**
 * The soak's world: a throwaway HOME with the keys file, OpenCode config and auth file a user would have, the
 * simulator with every fault on, and the plugin built the way OpenCode 1.x builds it:
 * createProviderPlugin(...) → hooks.auth.loader(getAuth) → the returned fetch.
 */
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProviderPlugin,
  nodeConfigIO,
  type FetchEvent,
  type KeysFileInput,
  type NotifySink,
  type ZaiFetch,
} from "../src/lib.js";
import { ROOT } from "./cli-scan.js";
import { startSimProcess, type RemoteSim } from "./sim-process.js";

export const MODELS = ["glm-4.7", "glm-4.5-air"] as const;
/** The real limits, per account, in the simulator and (configured right) in the keys file. */
export const REAL_LIMITS: Record<(typeof MODELS)[number], number> = { "glm-4.7": 3, "glm-4.5-air": 2 };
/** Healthy accounts, and "delta", which the soak disables (1001 then 1112, both echoing the key). */
export const ACCOUNTS = ["alpha", "bravo", "charlie", "delta"] as const;
export const PLACEHOLDER_AUTH = "oc-zai-multi-account-managed";

/** Long, obviously fake keys (not Z.AI-shaped), so 12-character fragments mean something. */
export function keyFor(account: string, n: number): string {
  return `sk-test-soak-${account}-${n}-${"kx".repeat(8)}-fake`;
}

/** Every key of the soak, and the Authorization header value of each. */
export function allSecrets(): string[] {
  return ACCOUNTS.flatMap((account) => [1, 2].map((n) => keyFor(account, n))).flatMap((key) => [key, `Bearer ${key}`]);
}

export interface World {
  dir: string;
  env: Record<string, string>;
  keysFile: string;
  stateFile: string;
  sim: RemoteSim;
  fetch: ZaiFetch;
  close(): Promise<void>;
}

export interface WorldHooks {
  sink: NotifySink;
  onEvent(event: FetchEvent): void;
  /** Seed of the simulator's late notice of client closes. */
  seed: number;
  /** retry.cancelGraceMs for the keys file (default: the plugin's). */
  cancelGraceMs?: number | undefined;
}

export async function createWorld(hooks: WorldHooks): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), "zai-soak-"));
  const home = join(dir, "home");
  const configDir = join(home, ".config", "opencode");
  const dataDir = join(home, ".local", "share", "opencode");
  const stateDir = join(home, ".local", "state", "opencode");
  for (const d of [configDir, dataDir, stateDir, join(dir, "project", ".git")]) await mkdir(d, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    TZ: "UTC",
  };
  const keysFile = join(configDir, "zai-keys.json");
  const stateFile = join(stateDir, "zai-multi-account-state.json");

  const keys = ACCOUNTS.flatMap((account) => [1, 2].map((n) => ({ account, n, apiKey: keyFor(account, n) })));
  const sim = await startSimProcess(
    {
      accounts: ACCOUNTS.map((id) => ({ id, keys: [keyFor(id, 1), keyFor(id, 2)], limits: { ...REAL_LIMITS } })),
      latencyMs: 5,
      // ~100 ms streams: long enough that a cancel after the first chunk reaches Z.AI before the stream ends.
      chunks: 5,
      chunkDelayMs: 20,
      closeNotice: { minMs: 20, maxMs: 80, seed: hooks.seed },
    },
    dir,
  );
  const keysInput: KeysFileInput = {
    keys: keys.map(({ account, n, apiKey }) => ({ id: `${account}-${n}`, apiKey, account })),
    models: Object.fromEntries(MODELS.map((m) => [m, { maxConcurrency: REAL_LIMITS[m] }])),
    // Time-compressed backoffs so a 1,500-request soak fits in two minutes; the logic is the same.
    retry: {
      baseDelayMs: 40,
      maxDelayMs: 400,
      maxCooldownWaitMs: 3_000,
      budgetMs: 20_000,
      maxQueueWaitMs: 20_000,
      ...(hooks.cancelGraceMs === undefined ? {} : { cancelGraceMs: hooks.cancelGraceMs }),
    },
    notifications: { intervalMs: 0 },
  };
  await writeFile(keysFile, JSON.stringify(keysInput, null, 2));
  await chmod(keysFile, 0o600);
  // The built plugin by file URL (an npm name would have to be in OpenCode's package cache for `doctor`).
  const plugin = pathToFileURL(join(ROOT, "dist", "index.js")).href;
  const opencode = {
    $schema: "https://opencode.ai/config.json",
    plugin: [plugin],
    provider: { "zai-coding-plan": { options: { baseURL: sim.url } } },
  };
  await writeFile(join(configDir, "opencode.jsonc"), JSON.stringify(opencode, null, 2));
  await writeFile(
    join(dataDir, "auth.json"),
    JSON.stringify({ "zai-coding-plan": { type: "api", key: PLACEHOLDER_AUTH } }),
    { mode: 0o600 },
  );

  const provider = createProviderPlugin("zai-coding-plan", { io: nodeConfigIO(env), onEvent: hooks.onEvent });
  const client = {
    tui: { showToast: (o: { body: Parameters<NotifySink["toast"]>[0] }) => hooks.sink.toast(o.body) },
    app: { log: (o: { body: Parameters<NotifySink["log"]>[0] }) => hooks.sink.log(o.body) },
  };
  const pluginHooks = await provider({ client } as never);
  const loaded = (await pluginHooks.auth!.loader!(
    async () => ({ type: "api", key: PLACEHOLDER_AUTH }),
    {} as never,
  )) as { fetch: ZaiFetch };
  return { dir, env, keysFile, stateFile, sim, fetch: loaded.fetch, close: () => sim.close() };
}
