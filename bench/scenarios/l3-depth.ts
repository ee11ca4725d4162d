/**
 * L3 queue depth: 3 OpenCode-like processes (for Redis: each with its own HOME, as on separate machines) share
 * 2 accounts × real limit 3 (150 ms streams) with 30, 300 and 1,000 requests waiting at once (agents − 6 slots).
 * Measured per ledger and depth: efficiency (ideal ÷ actual time), upstream 1302s, the highest count in flight on an
 * account, Redis CPU per request (the server's INFO cpu user+sys around the run), scripts per request (INFO
 * commandstats: EVALSHA + EVAL), hand-off (a slot's end at the simulator → the next stream's start on that account),
 * and the largest overtake (how many requests that arrived later were served before an earlier one).
 * A run slower than 4 × its ideal time is cut (the efficiency shows it).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startSimulator } from "../../simulator/server.js";
import { redisAvailable, startRedis, type RedisServer } from "../../test/ledger/redis-server.js";
import { fixed, ms, percentile } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import { runWorkerProcesses } from "../lib/workers.js";

const MODEL = "glm-4.7";
const STREAM_MS = 150;
const LIMIT = 3;
const ACCOUNTS = ["acct-a", "acct-b"];
const PROCESSES = 3;
const SLOTS = ACCOUNTS.length * LIMIT;
/** Waiting at once → requests per agent (bounded time: about 5, 15 and 50 s of ideal streaming per ledger). */
const DEPTHS: ReadonlyArray<[number, number]> = [
  [30, 6],
  [300, 2],
  [1000, 2],
];

export interface DepthRow {
  ledger: "machine" | "redis";
  waiting: number;
  streams: number;
  wallMs: number;
  efficiency: number;
  refused: number;
  maxInFlight: number;
  failures: number;
  redisCpuUs: number | undefined;
  scripts: number | undefined;
  handoffP50: number;
  handoffP90: number;
  overtake: number;
  /** When the most overtaken request arrived, from the run's first arrival. */
  overtakeAtMs: number;
  /** The largest overtake of a request that arrived more than 2 s after the first (past the start-up burst). */
  overtakeSteady: number;
}

type Rec = [arrival: number, start: number, end: number, account: string];

interface WorkerResult {
  completed: number;
  failures: number;
  wallMs: number;
  records: Rec[];
}

function runWorkers(
  url: string,
  agents: number,
  requests: number,
  envs: Array<Record<string, string>>,
  limitMs: number,
): Promise<WorkerResult[]> {
  const args = [url, String(agents), String(requests), MODEL];
  return runWorkerProcesses<WorkerResult>("bench/lib/depth-worker.ts", args, envs, limitMs);
}

/** Per account, the k-th start after the first LIMIT takes the slot of the (k − LIMIT)-th end. */
export function handoffs(records: readonly Rec[]): number[] {
  const out: number[] = [];
  for (const account of new Set(records.map((r) => r[3]))) {
    const mine = records.filter((r) => r[3] === account && r[1] > 0);
    const starts = mine.map((r) => r[1]).sort((a, b) => a - b);
    const ends = mine.map((r) => r[2]).sort((a, b) => a - b);
    for (let k = LIMIT; k < starts.length; k++) {
      const gap = starts[k]! - ends[k - LIMIT]!;
      if (gap >= 0) out.push(gap);
    }
  }
  return out;
}

/**
 * The most requests that arrived after one and were served (started upstream) before it; when it arrived (ms from
 * the first arrival); and the same among requests that arrived after the start-up burst (`steadyAfterMs`).
 */
export function largestOvertake(
  records: readonly Rec[],
  steadyAfterMs = 2_000,
): { count: number; arrivedMs: number; steady: number } {
  const served = records.filter((r) => r[1] > 0).sort((a, b) => a[0] - b[0]);
  const first = served[0]?.[0] ?? 0;
  let worst = { count: 0, arrivedMs: 0, steady: 0 };
  for (let i = 0; i < served.length; i++) {
    let n = 0;
    for (let j = i + 1; j < served.length; j++) if (served[j]![0] > served[i]![0] && served[j]![1] < served[i]![1]) n++;
    if (n > worst.count) worst = { ...worst, count: n, arrivedMs: served[i]![0] - first };
    if (served[i]![0] - first > steadyAfterMs) worst.steady = Math.max(worst.steady, n);
  }
  return worst;
}

async function redisCounters(url: string): Promise<{ cpu: number; scripts: number }> {
  const redis = new Redis(url);
  try {
    const cpu = await redis.info("cpu");
    const stats = await redis.info("commandstats");
    const num = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const scripts = num(stats, /cmdstat_evalsha:calls=(\d+)/) + num(stats, /cmdstat_eval:calls=(\d+)/);
    if (process.env.L3_DEBUG) process.stderr.write(`${stats}\n`);
    return { cpu: num(cpu, /used_cpu_sys:([\d.]+)/) + num(cpu, /used_cpu_user:([\d.]+)/), scripts };
  } finally {
    redis.disconnect();
  }
}

async function runDepth(
  ledger: "machine" | "redis",
  waiting: number,
  requests: number,
  redis: RedisServer | undefined,
): Promise<DepthRow> {
  const sim = await startSimulator({
    accounts: ACCOUNTS.map((id) => ({ id, keys: [`sk-${id}-1`], limits: { [MODEL]: LIMIT } })),
    latencyMs: 0,
    chunks: 3,
    durationMs: STREAM_MS,
  });
  const root = mkdtempSync(join(tmpdir(), "oc-zai-l3-"));
  const keysFile = join(root, "keys.json");
  const keys = ACCOUNTS.map((account) => ({ id: `${account}-1`, apiKey: `sk-${account}-1`, account }));
  writeFileSync(keysFile, JSON.stringify({ keys, models: { [MODEL]: { maxConcurrency: LIMIT } } }), { mode: 0o600 });
  const env = (i: number): Record<string, string> => {
    const home = ledger === "redis" ? join(root, `home-${i}`) : join(root, "home");
    return {
      HOME: home,
      XDG_STATE_HOME: join(home, ".local", "state"),
      ZAI_KEYS_FILE: keysFile,
      ZAI_LEDGER: "machine",
      ...(redis ? { ZAI_REDIS_URL: redis.url } : {}),
    };
  };
  const agents = Math.ceil((waiting + SLOTS) / PROCESSES);
  const before = redis ? await redisCounters(redis.url) : undefined;
  // Bounded: a run slower than 4 × its ideal time is cut (its efficiency then counts what was served by then).
  const idealMs = (agents * PROCESSES * requests * STREAM_MS) / SLOTS;
  const results = await runWorkers(
    sim.url,
    agents,
    requests,
    Array.from({ length: PROCESSES }, (_, i) => env(i)),
    4 * idealMs + 5_000,
  );
  const after = redis ? await redisCounters(redis.url) : undefined;
  const stats = sim.stats();
  await sim.close();
  rmSync(root, { recursive: true, force: true });
  const completed = results.reduce((s, r) => s + r.completed, 0);
  const wallMs = Math.max(...results.map((r) => r.wallMs));
  const records = results.flatMap((r) => r.records);
  const hands = handoffs(records);
  const perAccount = Object.values(stats.maxInFlight).map((row) => row[MODEL] ?? 0);
  return {
    ledger,
    waiting,
    streams: completed,
    wallMs,
    efficiency: (completed * STREAM_MS) / SLOTS / wallMs,
    refused: stats.byCode["1302"] ?? 0,
    maxInFlight: Math.max(0, ...perAccount),
    failures: results.reduce((s, r) => s + r.failures, 0),
    redisCpuUs: before && after ? ((after.cpu - before.cpu) * 1e6) / completed : undefined,
    // The counters' own reads are not scripts; the workers' start-up ones are few and included.
    scripts: before && after ? (after.scripts - before.scripts) / completed : undefined,
    handoffP50: percentile(hands, 50),
    handoffP90: percentile(hands, 90),
    ...((o) => ({ overtake: o.count, overtakeAtMs: o.arrivedMs, overtakeSteady: o.steady }))(largestOvertake(records)),
  };
}

/** `L3_DEPTHS=30,300` and `L3_LEDGERS=redis` run only those. Each row is printed to stderr as soon as it is done. */
export async function runL3Depth(): Promise<DepthRow[]> {
  const only = process.env.L3_DEPTHS?.split(",").map(Number);
  const ledgers = process.env.L3_LEDGERS?.split(",") ?? ["machine", "redis"];
  const rows: DepthRow[] = [];
  for (const ledger of ["machine", "redis"] as const) {
    if (!ledgers.includes(ledger) || (ledger === "redis" && !redisAvailable())) continue;
    for (const [waiting, requests] of DEPTHS) {
      if (only && !only.includes(waiting)) continue;
      const redis = ledger === "redis" ? await startRedis() : undefined;
      rows.push(await runDepth(ledger, waiting, requests, redis));
      await redis?.stop();
      process.stderr.write(`${renderL3Depth(rows.slice(-1))}\n`);
    }
  }
  return rows;
}

export function renderL3Depth(rows: readonly DepthRow[]): string {
  const opt = (v: number | undefined, digits: number) => (v === undefined ? "–" : v.toFixed(digits));
  return table(
    [
      "ledger",
      "waiting",
      "streams",
      "time",
      "efficiency",
      "1302s",
      "max in flight",
      "caller failures",
      "Redis CPU µs/request",
      "scripts/request",
      "hand-off p50 / p90",
      "largest overtake (arrived at)",
      "after 2 s",
    ],
    rows.map((r) => [
      r.ledger,
      String(r.waiting),
      String(r.streams),
      ms(r.wallMs),
      fixed(r.efficiency),
      String(r.refused),
      String(r.maxInFlight),
      String(r.failures),
      opt(r.redisCpuUs, 0),
      opt(r.scripts, 2),
      `${ms(r.handoffP50)} / ${ms(r.handoffP90)}`,
      `${r.overtake} (+${ms(r.overtakeAtMs)})`,
      String(r.overtakeSteady),
    ]),
  );
}

export function checkL3(rows: readonly DepthRow[], targets: Targets): void {
  for (const r of rows) {
    const name = `${r.ledger}, ${r.waiting} waiting`;
    targets.check(
      "L3",
      `${name}: 0 upstream 1302s, never above the limit`,
      `${r.refused}, max ${r.maxInFlight}`,
      r.refused === 0 && r.maxInFlight <= LIMIT,
    );
    if (r.ledger === "machine" && r.waiting >= 1000)
      targets.check("L3", `${name}: efficiency ≥ 0.95`, fixed(r.efficiency), r.efficiency >= 0.95);
    if (r.ledger !== "redis") continue;
    if (r.waiting >= 300) targets.check("L3", `${name}: efficiency ≥ 0.95`, fixed(r.efficiency), r.efficiency >= 0.95);
    targets.check(
      "L3",
      `${name}: Redis CPU ≤ 200 µs per request`,
      `${opt0(r.redisCpuUs)} µs`,
      (r.redisCpuUs ?? Infinity) <= 200,
    );
    targets.check(
      "L3",
      `${name}: ≤ 4 scripts per request`,
      fixed(r.scripts ?? Number.NaN),
      (r.scripts ?? Infinity) <= 4,
    );
  }
  const redis = rows.filter((r) => r.ledger === "redis");
  const low = redis.find((r) => r.waiting === 30);
  const high = redis.find((r) => r.waiting === 1000);
  if (low?.redisCpuUs !== undefined && high?.redisCpuUs !== undefined) {
    const growth = high.redisCpuUs / low.redisCpuUs;
    targets.check(
      "L3",
      "redis: CPU per request at 1,000 waiting within 1.5× of 30 waiting",
      `${growth.toFixed(2)}×`,
      growth <= 1.5,
    );
  }
}

function opt0(v: number | undefined): string {
  return v === undefined ? "n/a" : v.toFixed(0);
}
