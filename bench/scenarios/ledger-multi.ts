/**
 * L2: several OpenCode-like processes sharing 2 accounts × real limit 3 (150 ms streams), each process the real
 * engine with 10 agents × 6 streams through the OpenCode-like caller; then one process alone right after, on the
 * same state (learned limits must not be poisoned). Per ledger: per-process slots (before), machine-wide, Redis
 * (every process with its own HOME and state directory: only ZAI_REDIS_URL shared, as on separate machines).
 * Efficiency = ideal ÷ actual time, ideal = streams × 150 ms ÷ 6 slots; 1302s = share of upstream requests.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../../simulator/server.js";
import { redisAvailable, startRedis, type RedisServer } from "../../test/ledger/redis-server.js";
import { fixed, ms, percent } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import { runWorkerProcesses } from "../lib/workers.js";

const MODEL = "glm-4.7";
const STREAM_MS = 150;
const REAL_LIMIT = 3;
const ACCOUNTS = ["acct-a", "acct-b"];
const AGENTS = 10;
const REQUESTS = 6;

export interface MultiCase {
  name: string;
  ledger: "local" | "machine" | "redis";
  configured: number;
  processes: number;
  /** Agents per process (10); the reference case runs the same total in one process. */
  agents?: number;
}

export interface MultiRow {
  name: string;
  phase: string;
  processes: number;
  streams: number;
  wallMs: number;
  efficiency: number;
  upstream: number;
  refused: number;
  callerFailures: number;
  limits: string;
}

interface WorkerResult {
  completed: number;
  failures: number;
  wallMs: number;
  limits: string[];
  warnings: string[];
}

/** Starts the workers with their environments, lets them go at once, and collects their results. */
function runWorkers(url: string, agents: number, envs: Array<Record<string, string>>): Promise<WorkerResult[]> {
  return runWorkerProcesses<WorkerResult>(
    "bench/lib/ledger-worker.ts",
    [url, String(agents), String(REQUESTS), MODEL],
    envs,
  );
}

export async function runMultiCase(c: MultiCase, redis: RedisServer | undefined): Promise<MultiRow[]> {
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((id) => ({ id, keys: [`sk-${id}-1`, `sk-${id}-2`], limits: { [MODEL]: REAL_LIMIT } })),
    latencyMs: 0,
    chunks: 3,
    durationMs: STREAM_MS,
  });
  const root = mkdtempSync(join(tmpdir(), "oc-zai-l2-"));
  const keysFile = join(root, "keys.json");
  const keys = ACCOUNTS.flatMap((account) =>
    [1, 2].map((i) => ({ id: `${account}-${i}`, apiKey: `sk-${account}-${i}`, account })),
  );
  writeFileSync(keysFile, JSON.stringify({ keys, models: { [MODEL]: { maxConcurrency: c.configured } } }), {
    mode: 0o600,
  });
  const env = (i: number): Record<string, string> => {
    // Redis: each process as on its own machine (own HOME and state directory); else one shared state directory.
    const home = c.ledger === "redis" ? join(root, `home-${i}`) : join(root, "home");
    return {
      HOME: home,
      XDG_STATE_HOME: join(home, ".local", "state"),
      ZAI_KEYS_FILE: keysFile,
      ZAI_LEDGER: c.ledger === "local" ? "local" : "machine",
      ...(c.ledger === "redis" && redis ? { ZAI_REDIS_URL: redis.url } : {}),
    };
  };
  const rows: MultiRow[] = [];
  const phase = async (label: string, n: number, agents: number) => {
    sim.resetStats();
    const results = await runWorkers(
      sim.url,
      agents,
      Array.from({ length: n }, (_, i) => env(i)),
    );
    const stats = sim.stats();
    const streams = n * agents * REQUESTS;
    const wallMs = Math.max(...results.map((r) => r.wallMs));
    const ideal = (streams * STREAM_MS) / (ACCOUNTS.length * REAL_LIMIT);
    rows.push({
      name: c.name,
      phase: label,
      processes: n,
      streams,
      wallMs,
      efficiency: ideal / wallMs,
      upstream: stats.requests,
      refused: stats.byCode["1302"] ?? 0,
      callerFailures: results.reduce((s, r) => s + r.failures, 0),
      limits: [...new Set(results.flatMap((r) => r.limits))].join(" "),
    });
  };
  const agents = c.agents ?? AGENTS;
  await phase(c.processes === 1 ? `1 process, ${agents} agents` : `${c.processes} processes`, c.processes, agents);
  if (c.processes > 1) await phase("1 process right after", 1, AGENTS);
  await sim.close();
  rmSync(root, { recursive: true, force: true });
  return rows;
}

export const MULTI_CASES: MultiCase[] = [
  {
    name: "reference: the same 180 streams from one process",
    ledger: "local",
    configured: 3,
    processes: 1,
    agents: 30,
  },
  { name: "per-process slots (ZAI_LEDGER=local, before)", ledger: "local", configured: 3, processes: 3 },
  { name: "machine ledger, configured 3", ledger: "machine", configured: 3, processes: 3 },
  { name: "machine ledger, configured 10 (real 3)", ledger: "machine", configured: 10, processes: 3 },
  { name: "redis, separate HOMEs, configured 3", ledger: "redis", configured: 3, processes: 3 },
  { name: "redis, separate HOMEs, configured 10 (real 3)", ledger: "redis", configured: 10, processes: 3 },
];

/** `L2_CASES=1,3` runs only those cases (indexes into MULTI_CASES). Each Redis case gets a fresh redis-server. */
export async function runLedgerMulti(): Promise<MultiRow[]> {
  const rows: MultiRow[] = [];
  const only = process.env.L2_CASES?.split(",").map(Number);
  for (const [i, c] of MULTI_CASES.entries()) {
    if (only && !only.includes(i)) continue;
    if (c.ledger !== "redis") {
      rows.push(...(await runMultiCase(c, undefined)));
      continue;
    }
    if (!redisAvailable()) continue;
    const redis = await startRedis();
    rows.push(...(await runMultiCase(c, redis)));
    await redis.stop();
  }
  return rows;
}

export function renderLedgerMulti(rows: readonly MultiRow[]): string {
  return table(
    ["case", "phase", "streams", "time", "efficiency", "upstream", "1302s", "caller failures", "limits at end"],
    rows.map((r) => [
      r.name,
      r.phase,
      String(r.streams),
      ms(r.wallMs),
      fixed(r.efficiency),
      String(r.upstream),
      percent(r.refused, r.upstream),
      String(r.callerFailures),
      r.limits,
    ]),
  );
}

export function checkL2(rows: readonly MultiRow[], targets: Targets): void {
  for (const r of rows) {
    if (r.name.includes("before") || r.name.startsWith("reference")) continue;
    const wrong = r.name.includes("configured 10");
    const [eff, refused] = wrong ? [0.85, 0.05] : [0.9, 0.02];
    const share = r.upstream === 0 ? 0 : r.refused / r.upstream;
    targets.check(
      "L2",
      `${r.name}, ${r.phase}: efficiency ≥ ${eff}, 1302s ≤ ${refused * 100}%`,
      `${fixed(r.efficiency)}, ${percent(r.refused, r.upstream)}`,
      r.efficiency >= eff && share <= refused,
    );
  }
}
