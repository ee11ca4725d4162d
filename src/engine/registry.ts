import type { Engine } from "./engine.js";

/**
 * One engine per (provider, keys file, stored credential) in a process, shared by every plugin instance and by
 * both host adapters: OpenCode 2.x runs `setup` once per project/worktree, 1.18 runs both `server` and `setup`.
 */
export class EngineRegistry {
  private readonly engines = new Map<string, Promise<Engine>>();

  /** The engine for `key`, created by `create` the first time. */
  get(key: string, create: () => Promise<Engine>): Promise<Engine> {
    let engine = this.engines.get(key);
    if (!engine) {
      engine = create();
      this.engines.set(key, engine);
      // A failed creation is not cached: the next instance tries again.
      engine.catch(() => this.engines.delete(key));
    }
    return engine;
  }

  /** Every engine created so far (for tools and tests). */
  all(): Promise<Engine[]> {
    return Promise.all(this.engines.values());
  }

  get size(): number {
    return this.engines.size;
  }

  async closeAll(): Promise<void> {
    const engines = [...this.engines.values()];
    this.engines.clear();
    await Promise.all(engines.map(async (e) => (await e).close()));
  }
}

/** The process's registry: the one piece of module-level state, explicit and named (see docs/design.md). */
export const processEngines = new EngineRegistry();
