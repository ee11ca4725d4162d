/**
 * S4: what the plugin adds to one request. The plugin as it ships (dist/) and plain fetch against the same
 * zero-latency simulator, 20,000 sequential requests each, in alternating blocks (plain, plugin, plugin, plain, ...)
 * after a warm-up of both. Per request: time to the first body chunk and to the end of the stream. Run under Node in
 * the bench's process, and under Bun (the runtime OpenCode loads plugins in) in a child: bench/lib/overhead-bun.ts.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import { builtLib } from "../lib/built.js";
import { pluginFetchOf } from "../lib/plugin.js";
import { fixed, mean, percentile, us } from "../lib/stats.js";
import { table, type Targets } from "../lib/table.js";
import { chatBody } from "../lib/workload.js";

const MODEL = "glm-4.7";
const KEY = "sk-solo-1";

export interface Timings {
  total: number[];
  firstChunk: number[];
}

export interface OverheadReport {
  requests: number;
  plain: Timings;
  plugin: Timings;
}

export interface OverheadOptions {
  requests: number;
  warmup: number;
  block: number;
}

export async function runOverhead(options: OverheadOptions): Promise<OverheadReport> {
  const sim = await startSimulator({
    accounts: [{ id: "solo", keys: [KEY], limits: { [MODEL]: 1000 } }],
    latencyMs: 0,
    chunks: 3,
  });
  const url = `${sim.url}/chat/completions`;
  const plugin = pluginFetchOf(
    await builtLib(),
    [{ account: "solo", keys: [KEY] }],
    { models: { [MODEL]: { maxConcurrency: 100 } } },
    globalThis.fetch,
  );
  const body = chatBody(MODEL);
  const contenders = {
    plain: { fetch: globalThis.fetch, auth: `Bearer ${KEY}`, timings: { total: [], firstChunk: [] } as Timings },
    plugin: {
      fetch: plugin as typeof globalThis.fetch,
      auth: "Bearer oc-zai-multi-account-managed",
      timings: { total: [], firstChunk: [] } as Timings,
    },
  };
  type Who = keyof typeof contenders;

  async function one(who: Who, record: boolean): Promise<void> {
    const c = contenders[who];
    const start = performance.now();
    const response = await c.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: c.auth },
      body,
    });
    const reader = response.body!.getReader();
    let first = Number.NaN;
    for (;;) {
      const { done } = await reader.read();
      if (Number.isNaN(first)) first = performance.now();
      if (done) break;
    }
    const end = performance.now();
    if (!response.ok) throw new Error(`${who}: status ${response.status}`);
    if (record) {
      c.timings.total.push(end - start);
      c.timings.firstChunk.push(first - start);
    }
  }

  async function block(who: Who, n: number, record: boolean): Promise<void> {
    for (let i = 0; i < n; i++) await one(who, record);
  }

  const order: Who[][] = [
    ["plain", "plugin"],
    ["plugin", "plain"],
  ];
  for (let done = 0; done < options.warmup; done += options.block) {
    for (const who of order[0]!) await block(who, options.block, false);
  }
  for (let done = 0, round = 0; done < options.requests; done += options.block, round++) {
    const n = Math.min(options.block, options.requests - done);
    for (const who of order[round % 2]!) await block(who, n, true);
  }
  plugin.core.close();
  await sim.close();
  return { requests: options.requests, plain: contenders.plain.timings, plugin: contenders.plugin.timings };
}

export function overheadNumbers(r: OverheadReport) {
  const p = (t: number[], q: number) => percentile(t, q);
  return {
    plainP50: p(r.plain.total, 50),
    plainP99: p(r.plain.total, 99),
    pluginP50: p(r.plugin.total, 50),
    pluginP99: p(r.plugin.total, 99),
    addedP50: p(r.plugin.total, 50) - p(r.plain.total, 50),
    addedP99: p(r.plugin.total, 99) - p(r.plain.total, 99),
    plainMean: mean(r.plain.total),
    pluginMean: mean(r.plugin.total),
    firstPlainP50: p(r.plain.firstChunk, 50),
    firstPluginP50: p(r.plugin.firstChunk, 50),
  };
}

export type OverheadNumbers = ReturnType<typeof overheadNumbers>;

/** One table, a block of rows per runtime. */
export function renderOverhead(runs: ReadonlyArray<{ runtime: string; n: OverheadNumbers }>): string {
  return table(
    ["runtime", "per request", "plain fetch", "plugin", "added", "plugin ÷ plain"],
    runs.flatMap(({ runtime, n }) => [
      [runtime, "end of stream p50", us(n.plainP50), us(n.pluginP50), us(n.addedP50), fixed(n.pluginP50 / n.plainP50)],
      [runtime, "end of stream p99", us(n.plainP99), us(n.pluginP99), us(n.addedP99), fixed(n.pluginP99 / n.plainP99)],
      [
        runtime,
        "end of stream mean",
        us(n.plainMean),
        us(n.pluginMean),
        us(n.pluginMean - n.plainMean),
        fixed(n.pluginMean / n.plainMean),
      ],
      [
        runtime,
        "first chunk p50",
        us(n.firstPlainP50),
        us(n.firstPluginP50),
        us(n.firstPluginP50 - n.firstPlainP50),
        fixed(n.firstPluginP50 / n.firstPlainP50),
      ],
    ]),
  );
}

export function checkS4(runtime: string, n: OverheadNumbers, targets: Targets): void {
  targets.check("S4", `${runtime}: added time p50 ≤ 50 µs`, us(n.addedP50), n.addedP50 <= 0.05);
  const tail = n.pluginP99 / n.plainP99;
  targets.check("S4", `${runtime}: p99 plugin ÷ plain ≤ 1.5`, tail.toFixed(2), tail <= 1.5);
  const first = n.firstPluginP50 / n.firstPlainP50;
  targets.check("S4", `${runtime}: first chunk plugin ÷ plain ≤ 1.05`, first.toFixed(2), first <= 1.05);
}
