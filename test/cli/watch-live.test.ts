/**
 * `status --watch` in a real terminal (tmux, read with capture-pane) while two processes load two accounts through
 * the machine ledger: both accounts with in flight / limit and waiting requests, a change when the load stops, `q`
 * quits with exit 0, no key on screen. Skipped where tmux is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { startTmux } from "../e2e/tmux.js";
import { CLI, ensureBuilt, ROOT, sandbox } from "./helpers.js";

const KEYS = ["sk-test-watch-alpha", "sk-test-watch-beta"];
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

// Under CI=true (.ci/run installs tmux) a missing tmux fails the test instead of skipping it.
describe.skipIf(!hasTmux && process.env.CI !== "true")("status --watch under load from two processes", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(ensureBuilt, 180_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("shows both accounts with in flight / limit, changes when the load stops, q quits with exit 0", async () => {
    const sim: Simulator = await startSimulator({
      accounts: [
        { id: "alpha", keys: [KEYS[0]!], limits: { "glm-4.7": 4 } },
        { id: "beta", keys: [KEYS[1]!], limits: { "glm-4.7": 4 } },
      ],
      durationMs: 1500,
    });
    cleanups.push(() => sim.close());
    const box = await sandbox();
    // Two accounts (one key each), glm-4.7 at most 2 in flight per account: 6 workers keep both full, 2 waiting.
    await writeFile(box.keysFile, JSON.stringify({ models: { "glm-4.7": { maxConcurrency: 2 } } }), { mode: 0o600 });
    const env = { ...box.env, ZAI_API_KEYS: KEYS.join(","), TERM: "xterm-256color" };
    const load = (): Promise<ChildProcess> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", join(ROOT, "test", "cli", "load-process.ts"), sim.url, "3"],
          { env, cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
        );
        cleanups.push(() => void child.kill("SIGKILL"));
        child.stdout!.on("data", (d: Buffer) => d.toString().includes("loaded") && resolve(child));
        child.once("exit", (code) => reject(new Error(`load process exited (${code})`)));
      });
    const loads = [await load(), await load()];

    const term = startTmux([process.execPath, CLI, "status", "--watch", "--interval", "300"], {
      env,
      cwd: box.project,
      columns: 80,
      rows: 40,
    });
    cleanups.push(() => term.stop());
    const busy = await term.waitFor(
      /zai-api-keys-1[\s\S]*2\/2 in flight[\s\S]*zai-api-keys-2[\s\S]*2\/2 in flight/,
      30_000,
    );
    console.log(`under load:\n${busy}`);
    expect(busy).toMatch(/waiting/);
    expect(busy).toContain("q or Ctrl-C quits");
    for (const line of busy.split("\n")) expect(line.length).toBeLessThanOrEqual(80);

    for (const child of loads) child.kill("SIGKILL");
    const idle = await term.waitFor(
      /zai-api-keys-1[^\n]*\n {2}nothing in flight[\s\S]*zai-api-keys-2[^\n]*\n {2}nothing in flight/,
      30_000,
    );
    console.log(`after the load stopped:\n${idle}`);
    term.keys("q");
    const end = await term.waitFor(/\[exit \d+\]/, 10_000);
    expect(end).toContain("[exit 0]");
    for (const key of KEYS) expect(busy + idle + end).not.toContain(key);
  }, 120_000);
});
