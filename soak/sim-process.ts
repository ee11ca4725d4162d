/**
 * The simulator in a child process (simulator/cli.ts), driven over its /_sim control endpoints. Its event loop is
 * not the plugin's: a busy plugin process (GC, a starved loop) does not delay Z.AI noticing a closed connection,
 * which would turn the cancel grace into an artifact of the test, and the simulator's logs are not in the heap.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Fault, SimulatorConfig, SimulatorStats, UsageWindow } from "../simulator/types.js";
import { ROOT } from "./cli-scan.js";

export interface RemoteSim {
  readonly url: string;
  readonly pid: number | undefined;
  inject(...faults: Fault[]): Promise<void>;
  clearFaults(): Promise<void>;
  setUsageWindow(account: string, window: UsageWindow | null): Promise<void>;
  stats(): Promise<SimulatorStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

export async function startSimProcess(config: SimulatorConfig, dir: string): Promise<RemoteSim> {
  const path = join(dir, "sim.json");
  await writeFile(path, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "simulator", "cli.ts"), "--config", path], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Never outlive the soak, whatever way it ends.
  const killChild = () => child.kill("SIGTERM");
  process.once("exit", killChild);
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([once(lines, "line"), once(child, "exit").then(() => [undefined])])) as [
    string | undefined,
  ];
  if (first === undefined) throw new Error("the simulator process exited before listening");
  const { url, origin } = JSON.parse(first) as { url: string; origin: string };
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${origin}/_sim${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer: unknown = await response.json();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  return {
    url,
    pid: child.pid,
    inject: async (...faults) => void (await control("POST", "/faults", faults)),
    clearFaults: async () => void (await control("DELETE", "/faults")),
    setUsageWindow: async (account, window) => void (await control("POST", "/usage", { account, ...window })),
    stats: async () => (await control("GET", "/stats")) as SimulatorStats,
    resetStats: async () => void (await control("POST", "/reset")),
    close: async () => {
      process.off("exit", killChild);
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
