import type { Hooks, Plugin, PluginInput, PluginOptions } from "@opencode-ai/plugin";
import { PLACEHOLDER_KEY } from "../config/keys.js";
import type { ProviderId } from "../config/schema.js";
import type { Engine, EngineDeps } from "../engine/engine.js";
import { configIO, engineFor } from "../engine/for-host.js";
import { EngineRegistry, processEngines } from "../engine/registry.js";
import { overCore } from "../engine/zai-fetch.js";
import type { NotifySink } from "../notify/notifier.js";
import { systemClock } from "../util/clock.js";
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

/** OpenCode 1.x's custom fetch over the engine (with the core's pool, leases and limits beside it, for tools and tests). */
export function v1Fetch(engine: Engine): typeof globalThis.fetch {
  if (engine.kind === "refused") return async () => engine.refusal();
  return overCore(engine.lifecycle, engine.core) as typeof globalThis.fetch;
}

type Client = PluginInput["client"];

function clientSink(client: Client | undefined): NotifySink {
  return {
    toast: ({ title, message, variant }) => client?.tui?.showToast({ body: { title, message, variant } }),
    log: ({ level, message, extra }) => client?.app?.log({ body: { service: SERVICE, level, message, ...(extra ? { extra } : {}) } }),
  };
}
