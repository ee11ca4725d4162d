/**
 * The context 2.x hands to `setup` (packages/plugin/src/promise/plugin.ts `Context`): every domain is present;
 * only `session.hook` and `options` are live here, the other domains are inert stand-ins with the documented
 * `hook`/`transform` shapes (each returns `Promise<{ dispose }>`). `location` is the instance's location.
 * The reduced context 1.18.x passes (opencode-v2.md section 8) is `reducedV1Context`.
 */
import type { HookRegistry } from "./hooks.js";

const registration = async () => ({ dispose: async () => {} });
const domain = () => ({ hook: registration, transform: registration });

export function fullContext(input: { hooks: HookRegistry; options?: Record<string, unknown>; directory?: string }) {
  const directory = input.directory ?? "/tmp/project";
  return {
    app: { name: "opencode", version: "2.0.24" },
    location: { directory, project: { id: "project-1" } },
    options: input.options ?? {},
    storage: { get: async () => undefined, set: async () => {}, remove: async () => {}, scan: async () => [] },
    session: {
      hook: input.hooks.hook,
      create: async () => ({}),
      get: async () => ({}),
      prompt: async () => ({}),
      interrupt: async () => {},
    },
    agent: domain(),
    aisdk: domain(),
    catalog: domain(),
    command: domain(),
    event: { subscribe: () => ({ [Symbol.asyncIterator]: async function* () {} }) },
    generate: { text: async () => "" },
    integration: domain(),
    mcp: domain(),
    permission: domain(),
    plugin: { list: async () => [] },
    reference: domain(),
    shell: domain(),
    skill: domain(),
    tool: domain(),
    vcs: domain(),
    websearch: domain(),
  };
}

/** What 1.18.33's embedded 2.x loader passes to `setup`: no `session`. */
export function reducedV1Context(options: Record<string, unknown> = {}) {
  return {
    options,
    agent: domain(),
    aisdk: domain(),
    catalog: domain(),
    command: domain(),
    integration: domain(),
    plugin: { list: async () => [] },
    reference: domain(),
    skill: domain(),
  };
}
