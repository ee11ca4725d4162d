/**
 * The session hook registry of the 2.x host (packages/core/src/plugin/hooks.ts `trigger`/`has`;
 * packages/plugin/src/promise/adapter.ts wraps each callback in Effect.promise).
 * - `hook(name, cb, { providerID })`: with providerID the callback only runs when `event.model.providerID` matches.
 * - `trigger`: callbacks of one hook run one after another in registration order, each awaited, all mutating the
 *   same event object. A rejected callback is a defect (no classification, no retry): it is rethrown as `HookDefect`.
 * - Every registration returns `{ dispose }`.
 */
export class HookDefect extends Error {
  constructor(
    readonly hook: string,
    override readonly cause: unknown,
  ) {
    super(`hook ${hook} failed: ${String(cause)}`);
  }
}

type Callback = (event: never) => Promise<void> | void;
interface Entry {
  name: string;
  providerID: string | undefined;
  callback: Callback;
}

export class HookRegistry {
  private entries: Entry[] = [];

  hook = async (name: string, callback: Callback, options?: { providerID?: string }) => {
    const entry: Entry = { name, providerID: options?.providerID, callback };
    this.entries.push(entry);
    return {
      dispose: async () => {
        this.entries = this.entries.filter((e) => e !== entry);
      },
    };
  };

  has(name: string, providerID: string): boolean {
    return this.matching(name, providerID).length > 0;
  }

  async trigger<E extends { model: { providerID: string } }>(name: string, event: E): Promise<E> {
    for (const entry of this.matching(name, event.model.providerID)) {
      try {
        await (entry.callback as (event: E) => Promise<void> | void)(event);
      } catch (error) {
        throw new HookDefect(name, error);
      }
    }
    return event;
  }

  count(): number {
    return this.entries.length;
  }

  private matching(name: string, providerID: string): Entry[] {
    return this.entries.filter((e) => e.name === name && (e.providerID === undefined || e.providerID === providerID));
  }
}
