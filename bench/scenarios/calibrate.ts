/**
 * Before the scenarios: warms up fetch and the plugin (JIT, connection pools), and measures how long one 200 ms
 * simulator stream really takes (timers fire late), with plain fetch, 12 at a time as in S1. 200 ms ÷ that is the
 * best efficiency any contender can reach in S1–S3.
 */
import { performance } from "node:perf_hooks";
import { startSimulator } from "../../simulator/server.js";
import { pluginFetch } from "../lib/plugin.js";
import { mean, percentile } from "../lib/stats.js";
import { chatBody } from "../lib/workload.js";
import { MODEL, TIMING } from "./load.js";

export interface Calibration {
  streamMsMean: number;
  streamMsP99: number;
}

export async function calibrate(): Promise<Calibration> {
  const body = chatBody(MODEL);
  const post = (auth: string): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", authorization: auth },
    body,
  });

  const fast = await startSimulator({ accounts: [{ id: "w", keys: ["sk-w-1"], limits: { [MODEL]: 100 } }] });
  const plugin = pluginFetch([{ account: "w", keys: ["sk-w-1"] }], {}, globalThis.fetch);
  for (let i = 0; i < 1000; i++) {
    await (await fetch(`${fast.url}/chat/completions`, post("Bearer sk-w-1"))).text();
    await (await plugin(`${fast.url}/chat/completions`, post("Bearer x"))).text();
  }
  plugin.leases.close();
  await fast.close();

  const sim = await startSimulator({ accounts: [{ id: "c", keys: ["sk-c-1"], limits: { [MODEL]: 100 } }], ...TIMING });
  const times: number[] = [];
  const pipeline = async () => {
    for (let i = 0; i < 11; i++) {
      const start = performance.now();
      await (await fetch(`${sim.url}/chat/completions`, post("Bearer sk-c-1"))).text();
      if (i > 0) times.push(performance.now() - start); // the first one opens a connection
    }
  };
  await Promise.all(Array.from({ length: 12 }, pipeline));
  await sim.close();
  return { streamMsMean: mean(times), streamMsP99: percentile(times, 99) };
}
