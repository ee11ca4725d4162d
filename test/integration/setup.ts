import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProviderPlugin, nodeConfigIO, type FetchEvent, type KeysFileInput } from "../../src/lib.js";
import { startSimulator } from "../../simulator/server.js";
import type { SimulatorConfig } from "../../simulator/types.js";
import { afterEach } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { fakeClient, recordingSink } from "../helpers/sink.js";
import { checkLeaks, type Guarded } from "./leak-guard.js";

/** Plugin instances of the running test, checked for held slots, queued requests and timers after it. */
const live: Guarded[] = [];
afterEach(() => checkLeaks(live));

/**
 * A simulator on 127.0.0.1 and the plugin's fetch pointed at it, the way OpenCode builds it:
 * plugin(input) → auth.loader(getAuth) → { apiKey, fetch }. The clock is injected: backoffs are
 * recorded and skipped (time moves forward at once), while the HTTP traffic is real.
 */
export async function setup(options: {
  sim: SimulatorConfig;
  keysFile?: KeysFileInput;
  env?: Record<string, string>;
  authKey?: string;
  failingClient?: boolean;
}) {
  const sim = await startSimulator(options.sim);
  const dir = await mkdtemp(join(tmpdir(), "zai-it-"));
  const keysPath = join(dir, "zai-keys.json");
  if (options.keysFile) {
    await writeFile(keysPath, JSON.stringify(options.keysFile));
    await chmod(keysPath, 0o600);
  }
  const clock = new FakeClock(Date.now());
  const { sink, toasts, logs } = recordingSink({ failing: options.failingClient ?? false });
  const events: FetchEvent[] = [];
  const plugin = createProviderPlugin("zai-coding-plan", {
    clock,
    random: () => 0.5,
    io: nodeConfigIO({
      HOME: dir,
      ZAI_KEYS_FILE: keysPath,
      ZAI_STATE_FILE: "off",
      ZAI_LEDGER: "local",
      ...options.env,
    }),
    onEvent: (e) => events.push(e),
  });
  const hooks = await plugin({ client: fakeClient(sink) } as never);
  const loaded = (await hooks.auth!.loader!(
    async () => ({ type: "api", key: options.authKey ?? "oc-zai-multi-account-managed" }),
    {} as never,
  )) as {
    apiKey: string;
    fetch: typeof fetch;
  };
  const stateOn = (options.env?.["ZAI_STATE_FILE"] ?? "off") !== "off";
  const responses: Response[] = [];
  live.push({ fetch: loaded.fetch, clock, events, allowedTimers: stateOn ? 1 : 0, responses });
  /** A chat completion as OpenCode sends it: URL string, plain-object headers, JSON string body. */
  const chat = (model = "glm-4.7", init: RequestInit & { url?: string; stream?: boolean } = {}) =>
    loaded
      .fetch(init.url ?? `${sim.url}/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${loaded.apiKey}`,
          "user-agent": "opencode/test",
        },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream: init.stream ?? true }),
        ...(init.signal ? { signal: init.signal } : {}),
      })
      .then((response) => (responses.push(response), response));
  return { sim, clock, toasts, logs, events, loaded, chat, close: () => sim.close() };
}

/** Keys file entries: "account/id:secret". */
export function keyEntries(...specs: string[]) {
  return specs.map((spec) => {
    const [path = "", apiKey = ""] = spec.split(":");
    const [account = "", id = account] = path.split("/");
    return { id, apiKey, account };
  });
}

export async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}
