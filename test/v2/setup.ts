/**
 * A 2.x host model (test/v2/host) with this package's plugin loaded, against the simulator on 127.0.0.1.
 * `fromSource`: the plugin object built from src with a fake clock (backoffs and host retry waits move the clock,
 * HTTP is real). `fromBuild`: the built package as 2.x installs and decodes it (real clock).
 */
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createV2Setup, type V2Deps, type V2LogLevel } from "../../src/hosts/opencode-v2.js";
import {
  EngineRegistry,
  nodeConfigIO,
  PLACEHOLDER_KEY,
  systemClock,
  type KeysFileInput,
  type ProviderId,
} from "../../src/lib.js";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator, SimulatorConfig } from "../../simulator/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { V2Host } from "./host/host.js";
import { decodeDefault, loadInstalledPlugin, type Decoded } from "./host/load.js";
import type { Revision } from "./host/provider-error.js";

export const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

export interface V2Env {
  sim: Simulator;
  clock: FakeClock;
  host: V2Host;
  logs: Array<{ level: V2LogLevel; message: string }>;
  keysPath: string;
  plugin: Decoded;
  /** Loads the same plugin into another instance (another location) of the same host process. */
  secondInstance(): Promise<V2Host>;
  turn(input?: Partial<Parameters<V2Host["turn"]>[0]>): ReturnType<V2Host["turn"]>;
  close(): Promise<void>;
}

export interface V2EnvOptions {
  sim: SimulatorConfig;
  keysFile?: KeysFileInput;
  revision?: Revision;
  options?: Record<string, unknown>;
  /** Replace parts of the adapter's dependencies (e.g. an engine that fails). */
  deps?: Partial<V2Deps>;
  providers?: ProviderId[];
  /** Time does not move by itself: timers only run on clock.advance (queue waits, TTLs). */
  manualClock?: boolean;
}

export async function v2Env(options: V2EnvOptions): Promise<V2Env> {
  const clock = new FakeClock(Date.now(), { autoAdvance: options.manualClock !== true });
  const sim = await startSimulator({ now: () => clock.now(), ...options.sim });
  const dir = await mkdtemp(join(tmpdir(), "zai-v2-"));
  const keysPath = join(dir, "zai-keys.json");
  if (options.keysFile) {
    await writeFile(keysPath, JSON.stringify(options.keysFile));
    await chmod(keysPath, 0o600);
  }
  const logs: V2Env["logs"] = [];
  const log = (level: V2LogLevel, message: string) => logs.push({ level, message });
  // Per-process ledger, as in the integration tests (the machine ledger has its own multi-process tests).
  const io = nodeConfigIO({ HOME: dir, ZAI_KEYS_FILE: keysPath, ZAI_STATE_FILE: "off", ZAI_LEDGER: "local" });
  const deps: V2Deps = {
    clock,
    random: () => 0.5,
    fetch: (url, init) => globalThis.fetch(url, init),
    registry: new EngineRegistry(), // this test's process: shared by its instances, not by other tests
    io: () => io,
    log,
    ...options.deps,
  };
  // Decoded as 2.x decodes any module default (load.ts), from an object shaped like the package's.
  const plugin = decodeDefault({
    default: {
      id: "oc-zai-multi-account",
      server: () => ({}),
      setup: createV2Setup(options.providers ?? ["zai-coding-plan"], deps),
    },
  });
  const revision = options.revision ?? "later";
  const newHost = async () => {
    const host = new V2Host({ revision, clock });
    await host.load(plugin, options.options ?? {});
    return host;
  };
  const host = await newHost();
  return {
    sim,
    clock,
    host,
    logs,
    keysPath,
    plugin,
    secondInstance: newHost,
    turn: (input = {}) => host.turn({ baseURL: sim.url, credential: PLACEHOLDER_KEY, ...input }),
    close: () => sim.close(),
  };
}

/** The built package, installed as 2.x installs it (entry by `exports`), with a host on the real clock. */
export async function builtHost(revision: Revision, options: Record<string, unknown>): Promise<V2Host> {
  const plugin = await loadInstalledPlugin(PACKAGE_DIR);
  const host = new V2Host({ revision, clock: systemClock });
  await host.load(plugin, options);
  return host;
}
