/**
 * S5: does anything grow per request? The plugin's fetch against a zero-latency simulator (one chunk per stream),
 * 8 requests in parallel. Heap in use (after forced GC) once 5,000 requests are done and again at 50,000; the
 * simulator's own logs are cleared before each reading so only the plugin (and fetch) remain.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import { settledHeap } from "../lib/gc.js";
import { pluginFetch } from "../lib/plugin.js";
import { table, type Targets } from "../lib/table.js";
import { chatBody } from "../lib/workload.js";

const MODEL = "glm-4.7";
/** Growth from the first to the last checkpoint that still counts as noise: 1 MiB, ≈ 23 bytes per request over 45,000. */
export const NOISE_BYTES = 1024 * 1024;

export interface MemoryReport {
  checkpoints: Array<{ requests: number; heapBytes: number }>;
  elapsedMs: number;
  failures: number;
}

export async function runMemory(checkpoints: readonly number[], parallel: number): Promise<MemoryReport> {
  const sim = await startSimulator({
    accounts: [
      { id: "m1", keys: ["sk-m1-1", "sk-m1-2"], limits: { [MODEL]: 100 } },
      { id: "m2", keys: ["sk-m2-1"], limits: { [MODEL]: 100 } },
    ],
    latencyMs: 0,
    chunks: 1,
  });
  const fetch = pluginFetch(
    [
      { account: "m1", keys: ["sk-m1-1", "sk-m1-2"] },
      { account: "m2", keys: ["sk-m2-1"] },
    ],
    { models: { [MODEL]: { maxConcurrency: 4 } } },
    globalThis.fetch,
  );
  const url = `${sim.url}/chat/completions`;
  const body = chatBody(MODEL);
  const init: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer oc-zai-multi-account-managed" },
    body,
  };
  const report: MemoryReport = { checkpoints: [], elapsedMs: 0, failures: 0 };
  const start = performance.now();
  let sent = 0;
  for (const target of checkpoints) {
    const worker = async () => {
      while (sent < target) {
        sent++;
        const response = await fetch(url, init);
        const text = await response.text();
        if (!response.ok || !text.includes("[DONE]")) report.failures++;
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    sim.resetStats();
    report.checkpoints.push({ requests: target, heapBytes: await settledHeap() });
  }
  report.elapsedMs = performance.now() - start;
  fetch.leases.close();
  await sim.close();
  return report;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

export function growth(r: MemoryReport): number {
  const first = r.checkpoints[0]!;
  const last = r.checkpoints[r.checkpoints.length - 1]!;
  return last.heapBytes - first.heapBytes;
}

export function renderMemory(r: MemoryReport): string {
  const first = r.checkpoints[0]!;
  return table(
    ["requests done", "heap used (after GC)", "vs first"],
    r.checkpoints.map((c) => [
      c.requests.toLocaleString("en-US"),
      mib(c.heapBytes),
      `${c.heapBytes >= first.heapBytes ? "+" : ""}${mib(c.heapBytes - first.heapBytes)}`,
    ]),
  );
}

export function checkS5(r: MemoryReport, targets: Targets): void {
  const first = r.checkpoints[0]!;
  const last = r.checkpoints[r.checkpoints.length - 1]!;
  const delta = growth(r);
  const perRequest = delta / (last.requests - first.requests);
  targets.check(
    "S5",
    `heap growth ${first.requests / 1000}k → ${last.requests / 1000}k requests < ${mib(NOISE_BYTES)}`,
    `${mib(delta)} (${perRequest.toFixed(1)} B/request)`,
    delta < NOISE_BYTES && r.failures === 0,
  );
}
