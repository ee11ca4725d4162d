import type { Hooks, Plugin, PluginInput, PluginOptions } from "@opencode-ai/plugin";
import { PLACEHOLDER_KEY } from "../config/keys.js";
import { keysFilePath, type ConfigIO } from "../config/load.js";
import { nodeConfigIO } from "../config/node-io.js";
import type { ProviderId } from "../config/schema.js";
import { createEngine, type Engine, type EngineDeps } from "../engine/engine.js";
import { EngineRegistry, processEngines } from "../engine/registry.js";
import { normalizeRequest } from "../fetch/request.js";
import type { NotifySink } from "../notify/notifier.js";
import { systemClock } from "../util/clock.js";
import { fingerprint } from "../util/redact.js";
import { systemRandom } from "../util/random.js";

export const SERVICE = "oc-zai-multi-account";
export const AUTH_METHOD_LABEL: Record<ProviderId, string> = {
  "zai-coding-plan": "Z.AI Coding Plan API Key",
  "zhipuai-coding-plan": "Zhipu AI Coding Plan API Key",
};

/** What tests and tools may replace. Given any of them, the plugin gets an engine of its own (not the process's). */
export interface PluginDeps extends Omit<EngineDeps, "sink"> {
  registry: EngineRegistry;
}

/**
 * OpenCode 1.x: the `auth` hook of one provider. Its loader hands OpenCode a custom fetch that runs every request
 * through the engine's lifecycle (src/fetch/lifecycle.ts). The loader runs once per OpenCode instance and only
 * when a credential for the provider is stored (docs/design.md).
 */
export function createProviderPlugin(provider: ProviderId, overrides: Partial<PluginDeps> = {}): Plugin {
  return async (input: PluginInput, options?: PluginOptions): Promise<Hooks> => {
    const io = overrides.io ?? configIO(options);
    const sink = clientSink(input.client);
    const registry = overrides.registry ?? (Object.keys(overrides).length > 0 ? new EngineRegistry() : processEngines);
    const deps: EngineDeps = {
      clock: overrides.clock ?? systemClock,
      random: overrides.random ?? systemRandom,
      fetch: overrides.fetch ?? ((url, init) => globalThis.fetch(url, init)),
      io,
      sink,
      ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
    };
    return {
      auth: {
        provider,
        methods: [{ type: "api", label: AUTH_METHOD_LABEL[provider] }],
        loader: async (getAuth) => {
          const auth = await getAuth().catch(() => undefined);
          const authKey = auth?.type === "api" ? auth.key : undefined;
          const engine = await engineFor(registry, provider, deps, authKey);
          return { apiKey: PLACEHOLDER_KEY, fetch: v1Fetch(engine) };
        },
      },
    };
  };
}

/** The engine shared by every instance in the process that reads the same keys with the same stored credential. */
export function engineFor(registry: EngineRegistry, provider: ProviderId, deps: EngineDeps, authKey: string | undefined): Promise<Engine> {
  const envKeys = deps.io.env.ZAI_API_KEYS;
  const key = [provider, keysFilePath(deps.io.env, deps.io.homedir), envKeys ? fingerprint(envKeys) : "-", authKey ? fingerprint(authKey) : "-"].join("\u0000");
  return registry.get(key, () => createEngine(provider, deps, authKey));
}

/** OpenCode 1.x's custom fetch over the engine (with the lifecycle's pool, leases and limits, for tools and tests). */
export function v1Fetch(engine: Engine): typeof globalThis.fetch {
  const { lifecycle } = engine;
  if (!lifecycle) return async () => engine.refusal!();
  const run = async (input: string | URL | Request, init?: RequestInit) => lifecycle.run(await normalizeRequest(input, init));
  return Object.assign(run, { lifecycle, pool: lifecycle.pool, leases: lifecycle.leases, limits: lifecycle.limits }) as typeof globalThis.fetch;
}

/** The keys file named by the plugin entry's options wins over ZAI_KEYS_FILE. */
export function configIO(options: PluginOptions | Record<string, unknown> | undefined): ConfigIO {
  const keysFile = typeof options?.keysFile === "string" ? options.keysFile : undefined;
  return nodeConfigIO(keysFile ? { ...process.env, ZAI_KEYS_FILE: keysFile } : process.env);
}

type Client = PluginInput["client"];

function clientSink(client: Client | undefined): NotifySink {
  return {
    toast: ({ title, message, variant }) => client?.tui?.showToast({ body: { title, message, variant } }),
    log: ({ level, message, extra }) => client?.app?.log({ body: { service: SERVICE, level, message, ...(extra ? { extra } : {}) } }),
  };
}
