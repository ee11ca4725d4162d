import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { keepForCase, makeEnv, OC_BIN, type OcEnv, ocRun, PLUGIN } from "./harness.js";
import { startTmux } from "./tmux.js";

const KEYS = ["sk-test-login-alpha", "sk-test-login-beta"];
const CLI = join(PLUGIN, "..", "cli.js");

/** `oc-zai-multi-account <args>` in the case's environment: exit code and everything printed. */
async function cli(e: OcEnv, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: e.proj, env: e.env });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const x = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, out: (x.stdout ?? "") + (x.stderr ?? "") };
  }
}

describe("e2e: one command sets everything up", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  const keep = keepForCase();

  it("opencode providers login in a real terminal: keys pasted into the masked field, checked, both serve, doctor passes", async () => {
    const started = Date.now();
    // alpha's 5-hour window holds one request: the run's second call has to move to beta, so both keys serve.
    sim = keep(
      await startSimulator({
        accounts: [
          { id: "alpha", keys: [KEYS[0]!], usageWindow: { requests: 1 } },
          { id: "beta", keys: [KEYS[1]!] },
        ],
      }),
    );
    // A clean HOME with the plugin listed: no keys file, no auth.json, no ZAI_* variables.
    env = keep(makeEnv({ baseURL: sim.url, env: { ZAI_LEDGER: "local" } }));
    const term = startTmux([OC_BIN, "providers", "login", "--provider", "zai-coding-plan"], {
      env: env.env,
      cwd: env.proj,
    });
    keep({ stop: async () => term.stop() });
    let screen = await term.waitFor(/How do your keys map|Login method/, 60_000);
    if (/Login method/.test(screen) && !/How do your keys map/.test(screen)) {
      term.keys("Enter");
      screen = await term.waitFor(/How do your keys map/);
    }
    expect(screen).toContain("Each key is its own Z.AI account");
    expect(screen).toContain("Named in what I paste: account=key");
    term.keys("Enter");
    await term.waitFor(/Enter your API key/);
    term.type(KEYS.join(", "));
    const typed = term.screen();
    term.keys("Enter");
    const end = await term.waitFor(/\[exit \d+\]/, 30_000);
    console.log(`login screen at the end:\n${end}`);
    expect(end).toContain("[exit 0]");
    for (const key of KEYS) {
      expect(typed).not.toContain(key);
      expect(end).not.toContain(key);
    }

    const auth = JSON.parse(readFileSync(env.authFile, "utf8")) as Record<
      string,
      { type: string; key: string; metadata?: Record<string, string> }
    >;
    expect(auth["zai-coding-plan"]).toEqual({ type: "api", key: KEYS.join(", "), metadata: { accounts: "each" } });
    expect(statSync(env.authFile).mode & 0o777).toBe(0o600);

    const run = await ocRun(env, "say hi");
    expect(run.code).toBe(0);
    expect(run.text).toContain("Hello");
    const stats = sim.stats();
    // Both keys served a chat call; the quota endpoint checked each key once (no tokens spent).
    expect(Object.keys(stats.byKey).sort()).toEqual([...KEYS].sort());

    // The first start after the login checked every key through the quota endpoint; `status` shows it.
    const status = await cli(env, "status");
    expect(status.code).toBe(0);
    expect(status.out).toContain("zai-coding-plan: 2 key(s) in 2 account(s) from OpenCode auth");
    expect(status.out).toMatch(
      /keys checked at login \(.*\):\n {2}key 1 \(login-1\): plan \w+.*\n {2}key 2 \(login-2\): plan \w+/,
    );
    const doctor = await cli(env, "doctor");
    expect(doctor.code).toBe(0);
    expect(doctor.out).toContain("2 key(s) in 2 account(s) from the login (each key its own account)");
    expect(doctor.out).toContain("keys: 2 key(s) in 2 account(s) from `opencode providers login`");
    for (const key of KEYS) expect(status.out + doctor.out + run.stdout + run.stderr).not.toContain(key);
    console.log(
      `login case: ${Date.now() - started} ms, chat calls by key ${JSON.stringify(stats.byKey)}\n${status.out}\n${doctor.out}`,
    );
  });
});
