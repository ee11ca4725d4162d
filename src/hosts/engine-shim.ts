/**
 * TEMPORARY until the core's engine registry lands: the 2.x adapter's engine is the 1.x fetch, built through
 * the 1.x plugin function (server → auth.loader → fetch). One per (provider, keys file) per registry.
 */
import type { PluginDeps } from "../plugin.js";
import { createProviderPlugin } from "../plugin.js";
import type { ProviderId } from "../config/schema.js";
import type { V2Engine, V2LogLevel } from "./opencode-v2.js";
import type { V2Options } from "./v2-options.js";

export type EngineFactory = (provider: ProviderId, options: V2Options) => Promise<V2Engine>;

export function shimEngines(overrides: Partial<PluginDeps>, log: (level: V2LogLevel, message: string) => void): EngineFactory {
  const engines = new Map<string, Promise<V2Engine>>();
  return (provider, options) => {
    const id = `${provider}\u0000${options.keysFile ?? ""}`;
    let engine = engines.get(id);
    if (!engine) {
      engine = build(provider, options, overrides, log);
      engines.set(id, engine);
    }
    return engine;
  };
}

async function build(provider: ProviderId, options: V2Options, overrides: Partial<PluginDeps>, log: (level: V2LogLevel, message: string) => void): Promise<V2Engine> {
  const client = {
    tui: { showToast: ({ body }: { body: { message: string; variant: string } }) => log(body.variant === "error" ? "error" : "warn", body.message) },
    app: { log: ({ body }: { body: { level: string; message: string } }) => log(body.level === "error" ? "error" : body.level === "warn" ? "warn" : "info", body.message) },
  };
  const hooks = await createProviderPlugin(provider, overrides)({ client } as never, options.keysFile ? { keysFile: options.keysFile } : {});
  const loaded = (await hooks.auth!.loader!(async () => undefined as never, {} as never)) as { fetch: typeof fetch };
  return { run: (request) => loaded.fetch(request) };
}
