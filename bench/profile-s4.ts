/**
 * `node --cpu-prof --import tsx bench/profile-s4.ts [requests] [sim]`: the plugin's own work per request, for a CPU
 * profile. The upstream is an in-memory fetch answering a 3-chunk SSE stream (no sockets, so the profile shows the
 * plugin and not undici); with `sim`, the zero-latency simulator over HTTP instead, as in S4.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../simulator/server.js";
import { builtLib } from "./lib/built.js";
import { pluginFetchOf } from "./lib/plugin.js";
import { chatBody } from "./lib/workload.js";

const MODEL = "glm-4.7";
const KEY = "sk-solo-1";
const requests = Number(process.argv[2] ?? 20_000);
const useSim = process.argv[3] === "sim";
const sim = useSim
  ? await startSimulator({
      accounts: [{ id: "solo", keys: [KEY], limits: { [MODEL]: 1000 } }],
      latencyMs: 0,
      chunks: 3,
    })
  : undefined;
const url = sim ? `${sim.url}/chat/completions` : "http://127.0.0.1:9/api/coding/paas/v4/chat/completions";
const encoder = new TextEncoder();
const frames = [
  'data: {"choices":[{"delta":{"content":"a"}}]}\n\n',
  'data: {"choices":[{"delta":{"content":"b"}}]}\n\n',
  "data: [DONE]\n\n",
].map((f) => encoder.encode(f));
const memory = (async () => {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < frames.length) c.enqueue(frames[i++]!);
      else c.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}) as typeof globalThis.fetch;
const upstream = sim ? globalThis.fetch : memory;
const plugin = pluginFetchOf(
  await builtLib(),
  [{ account: "solo", keys: [KEY] }],
  { models: { [MODEL]: { maxConcurrency: 100 } } },
  upstream,
);
const body = chatBody(MODEL);

async function loop(f: typeof globalThis.fetch, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const response = await f(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body,
    });
    const reader = response.body!.getReader();
    while (!(await reader.read()).done);
    out.push(performance.now() - started);
  }
}
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length * q) / 100)]! * 1000;
const p50 = (xs: number[]) => pct(xs, 50);
const timings = { plugin: [] as number[], upstream: [] as number[] };
await loop(plugin as typeof globalThis.fetch, 2000, []);
await loop(upstream, 2000, []);
for (let done = 0; done < requests; done += 1000) {
  await loop(plugin as typeof globalThis.fetch, 1000, timings.plugin);
  await loop(upstream, 1000, timings.upstream);
}
const [p, u] = [p50(timings.plugin), p50(timings.upstream)];
process.stdout.write(
  `${requests} requests each, p50: plugin ${p.toFixed(1)} µs, upstream alone ${u.toFixed(1)} µs, added ${(p - u).toFixed(1)} µs\n`,
);
const [p99, u99] = [pct(timings.plugin, 99), pct(timings.upstream, 99)];
process.stdout.write(`p99: plugin ${p99.toFixed(0)} µs, upstream alone ${u99.toFixed(0)} µs\n`);
plugin.core.close();
await sim?.close();
