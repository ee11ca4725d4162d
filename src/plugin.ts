import type { Hooks, Plugin, PluginInput, PluginOptions } from "@opencode-ai/plugin";
import { PLACEHOLDER_KEY } from "./config/keys.js";
import { loadConfig, type ConfigIO } from "./config/load.js";
import { nodeConfigIO } from "./config/node-io.js";
import type { ProviderId } from "./config/schema.js";
import { isConfigError } from "./errors.js";
import { giveUp } from "./fetch/answers.js";
import { createZaiFetch, type FetchEvent } from "./fetch/zai-fetch.js";
import { Notifier, type NotifySink } from "./notify/notifier.js";
import { stateFilePath } from "./state/paths.js";
import { attachStateSync, type StateSync } from "./state/state-sync.js";
import { systemClock, type Clock } from "./util/clock.js";
import { systemRandom, type Random } from "./util/random.js";

export const SERVICE = "oc-zai-multi-account";
export const AUTH_METHOD_LABEL: Record<ProviderId, string> = {
  "zai-coding-plan": "Z.AI Coding Plan API Key",
  "zhipuai-coding-plan": "Zhipu AI Coding Plan API Key",
};

/** Everything from the outside world, injectable; real defaults in production. */
export interface PluginDeps {
  clock: Clock;
  random: Random;
  fetch: typeof globalThis.fetch;
  io: ConfigIO;
  onEvent?: (event: FetchEvent) => void;
}

/** Builds the OpenCode plugin function for one provider. Nothing is shared between instances. */
export function createProviderPlugin(provider: ProviderId, overrides: Partial<PluginDeps> = {}): Plugin {
  return async (input: PluginInput, options?: PluginOptions): Promise<Hooks> => {
    const env = overrides.io?.env ?? process.env;
    const keysFile = typeof options?.keysFile === "string" ? options.keysFile : undefined;
    const io = overrides.io ?? nodeConfigIO(keysFile ? { ...env, ZAI_KEYS_FILE: keysFile } : env);
    const deps: PluginDeps = {
      clock: overrides.clock ?? systemClock,
      random: overrides.random ?? systemRandom,
      fetch: overrides.fetch ?? ((url, init) => globalThis.fetch(url, init)),
      io,
      ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
    };
    const sink = clientSink(input.client);
    return {
      auth: {
        provider,
        methods: [{ type: "api", label: AUTH_METHOD_LABEL[provider] }],
        loader: async (getAuth) => {
          const auth = await getAuth().catch(() => undefined);
          const authKey = auth?.type === "api" ? auth.key : undefined;
          return { apiKey: PLACEHOLDER_KEY, fetch: await buildFetch(provider, deps, sink, authKey) };
        },
      },
    };
  };
}

async function buildFetch(provider: ProviderId, deps: PluginDeps, sink: NotifySink, authKey: string | undefined): Promise<typeof fetch> {
  let secrets: string[] = authKey ? [authKey] : [];
  const baseNotifier = (toasts: boolean, intervalMs: number) =>
    new Notifier({ clock: deps.clock, sink, secrets: () => secrets, toasts, intervalMs });
  let loaded;
  try {
    loaded = await loadConfig(deps.io, provider, authKey);
  } catch (error) {
    const message = isConfigError(error) ? `Z.AI keys configuration is invalid: ${error.message}` : `Z.AI keys could not be loaded: ${String(error)}`;
    baseNotifier(true, 0).toast("config", message, "error");
    return failingFetch(message);
  }
  secrets = [...loaded.keys.map((k) => k.apiKey), ...secrets];
  const { notifications } = loaded.settings;
  const notifier = baseNotifier(notifications.toasts, notifications.intervalMs);
  for (const warning of loaded.warnings) notifier.toast("config", warning, "warning");
  if (loaded.keys.length === 0) {
    const message = `no API keys for ${provider}: set ZAI_API_KEYS, or list keys in ${loaded.keysFile}, or store a real key with \`opencode providers login --provider ${provider}\`.`;
    notifier.toast("config", message, "error");
    return failingFetch(message);
  }
  const accounts = new Set(loaded.keys.map((k) => k.account)).size;
  notifier.log("info", `${provider}: ${loaded.keys.length} key(s) in ${accounts} account(s) from ${loaded.keySource === "file" ? loaded.keysFile : loaded.keySource}`);
  let sync: StateSync | undefined;
  const zaiFetch = createZaiFetch({
    keys: loaded.keys,
    settings: loaded.settings,
    clock: deps.clock,
    random: deps.random,
    fetch: deps.fetch,
    quotaFetch: deps.fetch,
    notifier,
    // Written as soon as something is learned, not only every 2 s: `opencode run` exits right after answering.
    persist: () => sync?.syncNow() ?? Promise.resolve(),
    ...(deps.onEvent ? { onEvent: deps.onEvent } : {}),
  });
  // Cooldowns, disabled keys, unavailable models and learned limits, shared with other OpenCode processes.
  sync = await attachStateSync({
    provider,
    pool: zaiFetch.pool,
    limits: zaiFetch.limits,
    keys: loaded.keys,
    clock: deps.clock,
    path: stateFilePath(deps.io.env, deps.io.homedir),
    onWarning: (message) => notifier.log("warn", message),
    onChange: () => zaiFetch.scheduler.wakeAt(deps.clock.now()),
  });
  return zaiFetch;
}

/** A fetch that answers every request with the same non-retryable explanation (bad or missing configuration). */
function failingFetch(message: string): typeof fetch {
  return async () => giveUp(400, "config_invalid", message);
}

type Client = PluginInput["client"];

function clientSink(client: Client | undefined): NotifySink {
  return {
    toast: ({ title, message, variant }) => client?.tui?.showToast({ body: { title, message, variant } }),
    log: ({ level, message, extra }) =>
      client?.app?.log({ body: { service: SERVICE, level, message, ...(extra ? { extra } : {}) } }),
  };
}
