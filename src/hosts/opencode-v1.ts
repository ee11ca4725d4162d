import type { Hooks, Plugin, PluginInput, PluginOptions } from "@opencode-ai/plugin";
import { PLACEHOLDER_KEY } from "../config/keys.js";
import { ACCOUNT_MAPPINGS, ACCOUNTS_PROMPT } from "../config/login-keys.js";
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
  "zai-coding-plan": "Z.AI Coding Plan: one or more keys (oc-zai-multi-account)",
  "zhipuai-coding-plan": "Zhipu AI Coding Plan: one or more keys (oc-zai-multi-account)",
};

const MAPPING_OPTIONS: Record<(typeof ACCOUNT_MAPPINGS)[number], { label: string; hint: string }> = {
  each: { label: "Each key is its own Z.AI account", hint: "paste the keys next: comma or space between them" },
  one: { label: "All keys belong to one Z.AI account", hint: "they share its concurrency and usage windows" },
  named: { label: "Named in what I paste: account=key", hint: "e.g. work=KEY1, work=KEY2, home=KEY3" },
  elsewhere: { label: "Keys are in zai-keys.json or ZAI_API_KEYS", hint: "type anything at the next prompt" },
};

/**
 * What `opencode providers login` offers (OpenCode 1.18): one select prompt, then OpenCode always asks its own masked
 * "Enter your API key", where the user pastes every key. Both are stored in auth.json (the answer as `metadata`).
 * No `authorize`: with one, OpenCode would discard what was typed in the masked field.
 */
export function authMethods(provider: ProviderId): NonNullable<Hooks["auth"]>["methods"] {
  return [
    {
      type: "api",
      label: AUTH_METHOD_LABEL[provider],
      prompts: [
        {
          type: "select",
          key: ACCOUNTS_PROMPT,
          message: "How do your keys map to Z.AI accounts? (paste them at the next prompt: it hides what you type)",
          options: ACCOUNT_MAPPINGS.map((value) => ({ value, ...MAPPING_OPTIONS[value] })),
        },
      ],
    },
  ];
}

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
        methods: authMethods(provider),
        loader: async (getAuth) => {
          const auth = await getAuth().catch(() => undefined);
          const credential = auth?.type === "api" ? { key: auth.key, metadata: auth.metadata } : undefined;
          const engine = await engineFor(registry, provider, deps, credential);
          return { apiKey: PLACEHOLDER_KEY, fetch: v1Fetch(engine) };
        },
      },
    };
  };
}

/**
 * OpenCode 1.x's custom fetch over the engine (with the core's pool, leases and limits beside it, for tools and tests).
 */
export function v1Fetch(engine: Engine): typeof globalThis.fetch {
  if (engine.kind === "refused") return async () => engine.refusal();
  const zaiFetch = overCore(engine.lifecycle, engine.core, (url) => void engine.checkLogin(url));
  return zaiFetch as typeof globalThis.fetch;
}

type Client = PluginInput["client"];

function clientSink(client: Client | undefined): NotifySink {
  return {
    toast: ({ title, message, variant }) => client?.tui?.showToast({ body: { title, message, variant } }),
    log: ({ level, message, extra }) =>
      client?.app?.log({ body: { service: SERVICE, level, message, ...(extra ? { extra } : {}) } }),
  };
}
