/**
 * `npm run demo`: the plugin against a local Z.AI simulator with three accounts (one with a revoked key, one whose
 * 5-hour window runs out midway, one without glm-5 in its plan), a team of subagents streaming in parallel, a live
 * per-account table, and the same workload through the seed-004 algorithm for comparison. No keys, no network.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callLikeOpenCode } from "../bench/baselines/opencode-caller.js";
import { createSeed004Fetch } from "../bench/baselines/seed004.js";
import { createProviderPlugin, nodeConfigIO, type ZaiFetch } from "../src/lib.js";
import { demoPreset } from "../simulator/presets.js";
import { startSimulator } from "../simulator/server.js";
import type { Simulator } from "../simulator/types.js";
import { renderTable, type Progress } from "./table.js";
import { chatBody, subagentTeam, type Job } from "./workload.js";

const MODELS = ["glm-4.7", "glm-4.5-air", "glm-5"];
const BASELINE_DEADLINE_MS = 45_000;
const tty = process.stdout.isTTY === true;

interface RunResult {
  answered: number;
  failed: number;
  sent1302: number;
  upstreamCalls: number;
  ms: number;
  stopped: boolean;
}

async function runTeam(fetch: typeof globalThis.fetch, sim: Simulator, team: Job[][], deadlineMs: number, onDone: (ok: boolean) => void): Promise<RunResult> {
  const started = Date.now();
  const deadline = AbortSignal.timeout(deadlineMs);
  let answered = 0;
  let failed = 0;
  await Promise.all(
    team.map(async (jobs) => {
      for (const job of jobs) {
        const outcome = await callLikeOpenCode(
          fetch,
          `${sim.url}/chat/completions`,
          () => ({ method: "POST", headers: { "content-type": "application/json" }, body: chatBody(job.model) }),
          deadline,
        );
        if (outcome.kind === "ok") answered++;
        else failed++;
        onDone(outcome.kind === "ok");
        if (outcome.kind === "aborted") return;
      }
    }),
  );
  const stats = sim.stats();
  return { answered, failed, sent1302: stats.byCode["1302"] ?? 0, upstreamCalls: stats.requests, ms: Date.now() - started, stopped: deadline.aborted };
}

async function pluginFetch(dir: string, toasts: string[]): Promise<ZaiFetch> {
  const keysFile = join(dir, "zai-keys.json");
  const preset = demoPreset();
  const keys = preset.accounts.flatMap((a) => a.keys.map((apiKey, i) => ({ id: `${a.id}-${i + 1}`, apiKey, account: a.id })));
  await writeFile(keysFile, JSON.stringify({ keys, models: { "glm-4.7": { maxConcurrency: 3 }, "glm-4.5-air": { maxConcurrency: 2 }, "glm-5": { maxConcurrency: 2 } } }));
  await chmod(keysFile, 0o600);
  const plugin = createProviderPlugin("zai-coding-plan", { io: nodeConfigIO({ HOME: dir, ZAI_KEYS_FILE: keysFile, ZAI_STATE_FILE: "off" }) });
  const client = { tui: { showToast: async (o: { body: { message: string } }) => void toasts.push(o.body.message) }, app: { log: async () => {} } };
  const hooks = await plugin({ client } as never);
  const loaded = (await hooks.auth!.loader!(async () => ({ type: "api", key: "oc-zai-multi-account-managed" }), {} as never)) as { fetch: ZaiFetch };
  return loaded.fetch;
}

function idealMs(team: Job[][], streamMs: number, accounts: number, limits: Record<string, number>): number {
  const perModel = new Map<string, number>();
  for (const job of team.flat()) perModel.set(job.model, (perModel.get(job.model) ?? 0) + 1);
  const capacityBound = Math.max(...[...perModel].map(([m, n]) => (n * streamMs) / (accounts * (limits[m] ?? 2))));
  const chainBound = Math.max(...team.map((jobs) => jobs.length * streamMs));
  return Math.max(capacityBound, chainBound);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "zai-demo-"));
  const team = subagentTeam();
  const total = team.flat().length;
  const preset = demoPreset();
  console.log(`oc-zai-multi-account demo: ${team.length} subagents × ${team[0]!.length} streaming requests against a local Z.AI simulator`);
  console.log("accounts: alpha (2 keys), beta (2 keys, one revoked; no glm-5 in plan), gamma (1 key, 5-hour window runs out after 25 requests)");
  console.log("real limits per account: glm-4.7 3, glm-4.5-air 2, glm-5 2\n");

  const sim = await startSimulator(demoPreset());
  const streamMs = await measureStream(sim);
  sim.resetStats();
  const toasts: string[] = [];
  const fetch = await pluginFetch(dir, toasts);
  const servedBy = new Map<string, number>();
  const progress: Progress = { done: 0, failed: 0, total, startedAt: Date.now() };
  let lastLines = 0;
  const draw = () => {
    const notes = toasts.slice(-3).map((t) => `  toast: ${t}`);
    const frame = [renderTable(fetch, MODELS, progress, servedBy, Date.now()), ...notes, ""].join("\n");
    if (tty) {
      if (lastLines > 0) process.stdout.write(`\x1b[${lastLines}A\x1b[J`);
      process.stdout.write(`${frame}\n`);
      lastLines = frame.split("\n").length;
    } else {
      console.log(frame);
    }
  };
  const timer = setInterval(draw, tty ? 150 : 1500);
  const plugin = await runTeam(fetch, sim, team, 120_000, (ok) => {
    if (ok) progress.done++;
    else progress.failed++;
    for (const account of fetch.pool.accounts) servedBy.set(account, countServed(sim, account));
  });
  clearInterval(timer);
  draw();
  await sim.close();

  process.stdout.write(`\nSame setup and workload through the seed-004 algorithm (round-robin, 60 s cooldown, retry once), OpenCode retrying around it (stops after ${BASELINE_DEADLINE_MS / 1000} s)...\n`);
  const sim2 = await startSimulator(demoPreset());
  const seed = createSeed004Fetch({ keys: preset.accounts.flatMap((a) => a.keys), fetch: globalThis.fetch });
  const baseline = await runTeam(seed, sim2, team, BASELINE_DEADLINE_MS, () => {});
  await sim2.close();
  await rm(dir, { recursive: true, force: true });

  const ideal = idealMs(team, streamMs, 3, { "glm-4.7": 3, "glm-4.5-air": 2, "glm-5": 2 });
  const line = (name: string, r: RunResult) =>
    `${name.padEnd(22)} answered ${String(r.answered).padStart(2)}/${total}  failed ${String(r.failed).padStart(2)}  1302s sent ${String(r.sent1302).padStart(3)}  upstream calls ${String(r.upstreamCalls).padStart(3)}  time ${(r.ms / 1000).toFixed(1)} s${r.stopped ? " (stopped)" : ""}  = ${(ideal / r.ms).toFixed(2)} of ideal`;
  console.log("\nSummary");
  console.log(`ideal (every account healthy and at its limit, ${streamMs} ms per stream): ${(ideal / 1000).toFixed(1)} s`);
  console.log(line("oc-zai-multi-account", plugin));
  console.log(line("seed-004 algorithm", baseline));
}

/** One request alone, plain fetch: how long a stream of the preset takes on this machine. */
async function measureStream(sim: Simulator): Promise<number> {
  const started = Date.now();
  const res = await globalThis.fetch(`${sim.url}/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer sk-test-alpha-1", "content-type": "application/json" },
    body: chatBody("glm-4.7"),
  });
  await res.text();
  return Date.now() - started;
}

function countServed(sim: Simulator, account: string): number {
  return sim.stats().hits.filter((h) => h.account === account && h.status === 200 && h.code === null).length;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
