/**
 * L1: the uncontended cost of acquire + release, per ledger: in this process (today's behaviour), the machine
 * ledger as its coordinator (direct calls) and as a client (over the socket to a coordinator in another process),
 * and Redis (one Lua script per acquire, one per release). Sequential, one slot free every time.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { RedisLedger } from "../../src/ledger/redis-ledger.js";
import type { SlotLedger } from "../../src/ledger/ledger.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { systemClock } from "../../src/util/clock.js";
import { redisAvailable, startRedis } from "../../test/ledger/redis-server.js";
import { percentile, us } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";

export interface OverheadRow {
  ledger: string;
  p50: number;
  p90: number;
  p99: number;
}

async function measure(ledger: SlotLedger, n: number): Promise<number[]> {
  const times: number[] = [];
  const request = { model: "m", seq: 0, candidates: () => ["A"], cap: () => 10, timeoutMs: 10_000 };
  for (let i = 0; i < n + 500; i++) {
    const start = performance.now();
    const grant = await ledger.acquire(request, (g) => g);
    grant.release();
    if (i >= 500) times.push(performance.now() - start);
  }
  return times;
}

function row(name: string, times: number[]): OverheadRow {
  return { ledger: name, p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99) };
}

export async function runLedgerOverhead(n = 5_000): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  rows.push(row("local (this process)", await measure(SharedLedger.local(systemClock), n)));

  const solo = await SharedLedger.machine({
    address: { path: join(tmpdir(), `oc-zai-bench-${randomUUID()}.sock`), isFile: true },
    clock: systemClock,
    onWarning: () => {},
  });
  rows.push(row(`machine, ${solo.role} (direct calls)`, await measure(solo, n)));
  await solo.close();

  const name = join(tmpdir(), `oc-zai-bench-${randomUUID()}.sock`);
  const coordinator = spawn(process.execPath, ["--import", "tsx", "bench/lib/ledger-idle.ts", name], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => coordinator.stdout!.once("data", () => resolve()));
  const client = await SharedLedger.machine({
    address: { path: name, isFile: true },
    clock: systemClock,
    onWarning: () => {},
  });
  rows.push(row(`machine, ${client.role} (socket to another process)`, await measure(client, n)));
  await client.close();
  coordinator.kill("SIGKILL");

  if (redisAvailable()) {
    const server = await startRedis();
    const redis = new RedisLedger({
      url: server.url,
      clock: systemClock,
      fallback: SharedLedger.local(systemClock),
      onWarning: () => {},
    });
    await redis.start();
    rows.push(row("redis (127.0.0.1)", await measure(redis, n)));
    await redis.close();
    await server.stop();
  } else {
    rows.push({ ledger: "redis: skipped (no redis-server)", p50: Number.NaN, p90: Number.NaN, p99: Number.NaN });
  }
  return rows;
}

export function renderLedgerOverhead(rows: readonly OverheadRow[]): string {
  return table(
    ["ledger", "acquire+release p50", "p90", "p99"],
    rows.map((r) => [r.ledger, us(r.p50), us(r.p90), us(r.p99)]),
  );
}

export function checkL1(rows: readonly OverheadRow[], targets: Targets): void {
  for (const r of rows) {
    if (r.ledger.startsWith("local") || Number.isNaN(r.p50)) continue;
    targets.check("L1", `${r.ledger}: acquire+release p50 ≤ 1 ms`, us(r.p50), r.p50 <= 1);
  }
}
