/**
 * `npm run demo`: the plugin against a local Z.AI simulator with three accounts (one with a revoked key, one whose
 * 5-hour window runs out midway, one without glm-5.3 in its plan), a team of subagents streaming in parallel, a live
 * per-account table and, side by side on a second simulator, the same workload through the seed-004 algorithm (the
 * earlier, simpler plugin this one replaces: round-robin, 60 s cooldown, retry once) with a live progress line,
 * stopped after BASELINE_DEADLINE_MS once it has shown how it fails; then a summary. Ends within 20 s.
 * No keys, no network.
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
import { createLiveView } from "./live.js";
import { progressLine, renderSummary, renderTable, type Progress, type RunResult } from "./table.js";
import { chatBody, subagentTeam, type Job } from "./workload.js";

const MODELS = ["glm-4.7", "glm-5.3-flash", "glm-5.3"];
const LIMITS: Record<string, number> = { "glm-4.7": 3, "glm-5.3-flash": 2, "glm-5.3": 2 };
const BASELINE_DEADLINE_MS = 10_000;

async function runTeam(
  fetch: typeof globalThis.fetch,
  sim: Simulator,
  team: Job[][],
  deadlineMs: number,
  progress: Progress,
): Promise<RunResult> {
  const started = Date.now();
  const deadline = AbortSignal.timeout(deadlineMs);
  await Promise.all(
    team.map(async (jobs) => {
      for (const job of jobs) {
        const outcome = await callLikeOpenCode(
          fetch,
          `${sim.url}/chat/completions`,
          () => ({ method: "POST", headers: { "content-type": "application/json" }, body: chatBody(job.model) }),
          deadline,
        );
        if (outcome.kind === "ok") progress.done++;
        else progress.failed++;
        if (outcome.kind === "aborted") return;
      }
    }),
  );
  progress.finishedAt = Date.now();
  const stats = sim.stats();
  return {
    answered: progress.done,
    failed: progress.failed,
    sent1302: stats.byCode["1302"] ?? 0,
    upstreamCalls: stats.requests,
    ms: Date.now() - started,
    stopped: deadline.aborted,
  };
}

async function pluginFetch(dir: string, toasts: string[]): Promise<ZaiFetch> {
  const keysFile = join(dir, "zai-keys.json");
  const preset = demoPreset();
  const keys = preset.accounts.flatMap((a) =>
    a.keys.map((apiKey, i) => ({ id: `${a.id}-${i + 1}`, apiKey, account: a.id })),
  );
  const models = Object.fromEntries(MODELS.map((m) => [m, { maxConcurrency: LIMITS[m] }]));
  await writeFile(keysFile, JSON.stringify({ keys, models }));
  await chmod(keysFile, 0o600);
  const plugin = createProviderPlugin("zai-coding-plan", {
    io: nodeConfigIO({ HOME: dir, ZAI_KEYS_FILE: keysFile, ZAI_STATE_FILE: "off" }),
  });
  const client = {
    tui: { showToast: async (o: { body: { message: string } }) => void toasts.push(o.body.message) },
    app: { log: async () => {} },
  };
  const hooks = await plugin({ client } as never);
  const loaded = (await hooks.auth!.loader!(
    async () => ({ type: "api", key: "oc-zai-multi-account-managed" }),
    {} as never,
  )) as { fetch: ZaiFetch };
  return loaded.fetch;
}

function idealMs(team: Job[][], streamMs: number, accounts: number): number {
  const perModel = new Map<string, number>();
  for (const job of team.flat()) perModel.set(job.model, (perModel.get(job.model) ?? 0) + 1);
  const capacityBound = Math.max(...[...perModel].map(([m, n]) => (n * streamMs) / (accounts * (LIMITS[m] ?? 2))));
  const chainBound = Math.max(...team.map((jobs) => jobs.length * streamMs));
  return Math.max(capacityBound, chainBound);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "zai-demo-"));
  const team = subagentTeam();
  const total = team.flat().length;
  const preset = demoPreset();
  console.log(
    `oc-zai-multi-account demo: ${team.length} subagents × ${team[0]!.length} streaming requests against a local Z.AI simulator`,
  );
  console.log(
    "accounts: alpha (2 keys), beta (2 keys, one revoked; no glm-5.3 in plan), gamma (1 key, 5-hour window runs out after 25 requests)",
  );
  console.log(`real limits per account: ${MODELS.map((m) => `${m} ${LIMITS[m]}`).join(", ")}\n`);

  const sim = await startSimulator(demoPreset());
  const streamMs = await measureStream(sim);
  sim.resetStats();
  const toasts: string[] = [];
  const fetch = await pluginFetch(dir, toasts);
  // The baseline runs at the same time on its own simulator: the viewer watches both, not one after the other.
  const sim2 = await startSimulator(demoPreset());
  const seed = createSeed004Fetch({ keys: preset.accounts.flatMap((a) => a.keys), fetch: globalThis.fetch });
  const progress: Progress = { done: 0, failed: 0, total, startedAt: Date.now() };
  const baselineProgress: Progress = { done: 0, failed: 0, total, startedAt: Date.now() };
  console.log(
    `Both at once: the plugin (table) and the seed-004 algorithm (round-robin, 60 s cooldown, retry once) on a second simulator with OpenCode retrying around it (stopped after ${BASELINE_DEADLINE_MS / 1000} s):`,
  );
  const live = createLiveView(process.stdout);
  live.start(() => {
    const notes = toasts.slice(-3).map((t) => `  toast: ${t}`);
    const baselineLine = progressLine("seed-004", baselineProgress, sim2.stats(), Date.now(), BASELINE_DEADLINE_MS);
    return [renderTable(fetch, MODELS, progress, sim.stats(), Date.now()), ...notes, baselineLine].join("\n");
  });
  const [plugin, baseline] = await Promise.all([
    runTeam(fetch, sim, team, 120_000, progress),
    runTeam(seed, sim2, team, BASELINE_DEADLINE_MS, baselineProgress),
  ]);
  live.stop();
  await sim.close();
  await sim2.close();
  await rm(dir, { recursive: true, force: true });

  console.log(
    `\n${renderSummary(total, idealMs(team, streamMs, 3), streamMs, [
      ["oc-zai-multi-account", plugin],
      ["seed-004 algorithm", baseline],
    ])}`,
  );
}

/** One request alone, plain fetch, the faster of two: how long a stream of the preset takes on this machine. */
async function measureStream(sim: Simulator): Promise<number> {
  return Math.min(await timeStream(sim), await timeStream(sim));
}

async function timeStream(sim: Simulator): Promise<number> {
  const started = Date.now();
  const res = await globalThis.fetch(`${sim.url}/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer sk-test-alpha-1", "content-type": "application/json" },
    body: chatBody("glm-4.7"),
  });
  await res.text();
  return Date.now() - started;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
