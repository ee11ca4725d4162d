import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { emptyProviderState, fingerprint, type ProviderState } from "../../src/lib.js";
import { KEYS, cli, correctSetup, ensureBuilt, sandbox, type Sandbox } from "./helpers.js";

beforeAll(ensureBuilt, 180_000);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The state a running plugin would have written: personal cooling (1308), spare disabled, glm-5 unavailable on work. */
async function writeState(box: Sandbox, now: number): Promise<void> {
  const work = `fp:${fingerprint(KEYS.work)}`;
  const section: ProviderState = {
    ...emptyProviderState(),
    accountCooldowns: {
      personal: {
        until: now + 2 * HOUR + 10 * MINUTE + 5000,
        reason: "5-hour usage window spent",
        code: "1308",
        at: now - MINUTE,
      },
    },
    disabledKeys: { [fingerprint(KEYS.spare)]: { reason: "rejected (1000)", code: "1000", at: now - HOUR } },
    unavailable: { [work]: { "glm-5": { until: now + HOUR, code: "1113", wrongEndpoint: false, at: now - MINUTE } } },
    limits: { personal: { "glm-4.7": { limit: 5, at: now - 5 * MINUTE } } },
    keyCooldowns: { [fingerprint("sk-test-gone")]: { until: now + HOUR, reason: "rate limited (429)", at: now } },
  };
  await mkdir(dirname(box.stateFile), { recursive: true });
  await writeFile(box.stateFile, JSON.stringify({ version: 1, providers: { "zai-coding-plan": section } }), {
    mode: 0o600,
  });
}

async function readSection(box: Sandbox): Promise<ProviderState> {
  const file = JSON.parse(await readFile(box.stateFile, "utf8")) as { providers: Record<string, ProviderState> };
  return file.providers["zai-coding-plan"]!;
}

describe("oc-zai-multi-account status", () => {
  it("shows a cooling account with its local reset time and how long until then", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeState(box, Date.now());
    const run = await cli(box, ["status"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("zai-coding-plan: 3 key(s) in 2 account(s) from");
    expect(run.stdout).toMatch(
      /account personal: cooling until (?:\S+ )?\d\d:\d\d:\d\d \(in 2h 10m\): 5-hour usage window spent \(1308\)/,
    );
    expect(run.stdout).toMatch(/key main \(Main\) +usable/);
    expect(run.stdout).toMatch(/key spare +disabled: rejected \(1000\); re-checked .* \(in 23h 00m\)/);
    expect(run.stdout).toContain("learned limit: glm-4.7 at most 5 in flight");
    expect(run.stdout).toContain("account work: usable");
    expect(run.stdout).toMatch(/unavailable: glm-5: not in the plan \(1113\), re-checked .* \(in 60 min\)/);
    expect(run.stdout).toContain("1 state entry is for keys or accounts not configured now (ignored)");
    for (const key of Object.values(KEYS)) expect(run.stdout).not.toContain(key);
  });

  it("prints the same as JSON with --json", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeState(box, Date.now());
    const run = await cli(box, ["status", "--json"]);
    const report = JSON.parse(run.stdout) as { accounts: Array<Record<string, unknown>> } & Record<string, unknown>;
    expect(report).toMatchObject({
      command: "status",
      provider: "zai-coding-plan",
      stateFile: box.stateFile,
      ignoredEntries: 1,
    });
    expect(report.accounts[0]).toMatchObject({
      account: "personal",
      usable: false,
      cooling: { reason: "5-hour usage window spent", code: "1308", until: expect.stringMatching(/Z$/) },
      keys: [
        { id: "main", label: "Main", usable: true },
        { id: "spare", usable: false, disabled: { code: "1000" } },
      ],
      limits: [{ model: "glm-4.7", limit: 5 }],
    });
    expect(report.accounts[1]).toMatchObject({
      account: "work",
      usable: true,
      unavailable: [{ model: "glm-5", code: "1113" }],
    });
  });

  it("shows everything usable without a state file", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["status"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("account personal: usable");
  });

  it("--reset <account> clears the account and its keys, and leaves a marker for running processes", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeState(box, Date.now());
    const run = await cli(box, ["status", "--reset", "personal"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "reset personal: cleared account personal: cooldown (1308); key spare: disabled (1000).",
    );
    expect(run.stdout).toContain("account personal: usable");
    const section = await readSection(box);
    expect(section.accountCooldowns).toEqual({});
    expect(section.disabledKeys).toEqual({});
    expect(section.resets.accounts.personal).toBeGreaterThan(0);
    expect(Object.keys(section.resets.keys).sort()).toEqual([fingerprint(KEYS.main), fingerprint(KEYS.spare)].sort());
    expect(Object.keys(section.unavailable)).toHaveLength(1);
  });

  it("--reset <key-id> clears only that key", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeState(box, Date.now());
    const run = await cli(box, ["status", "--reset", "spare"]);
    expect(run.stdout).toContain("reset spare: cleared key spare: disabled (1000).");
    const section = await readSection(box);
    expect(section.accountCooldowns.personal).toBeDefined();
    expect(section.disabledKeys).toEqual({});
  });

  it("--reset all clears every key and account but keeps learned limits", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeState(box, Date.now());
    const run = await cli(box, ["status", "--reset", "all"]);
    expect(run.code).toBe(0);
    const section = await readSection(box);
    expect(section.resets.all).toBeGreaterThan(0);
    expect(section.accountCooldowns).toEqual({});
    expect(section.unavailable).toEqual({});
    expect(section.keyCooldowns).toEqual({});
    expect(section.limits.personal?.["glm-4.7"]?.limit).toBe(5);
  });

  it("--reset of an unknown name fails and names the known ones", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["status", "--reset", "nobody"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'no key or account named "nobody" (known: main, spare, work, personal; or use "all", or "learned" for learned limits)',
    );
  });

  it("reports a corrupt state file and carries on", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await mkdir(dirname(box.stateFile), { recursive: true });
    await writeFile(box.stateFile, "{{{");
    const run = await cli(box, ["status"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("warn  state file is corrupt (not valid JSON); showing no state");
  });
});

describe("oc-zai-multi-account status --reset learned", () => {
  it("--reset all keeps learned limits and says so instead of claiming nothing was set", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const now = Date.now();
    const section: ProviderState = {
      ...emptyProviderState(),
      limits: { personal: { "glm-4.7": { limit: 5, at: now - MINUTE } } },
    };
    await mkdir(dirname(box.stateFile), { recursive: true });
    await writeFile(box.stateFile, JSON.stringify({ version: 1, providers: { "zai-coding-plan": section } }));
    const run = await cli(box, ["status", "--reset", "all"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("1 learned limit(s) kept: `status --reset learned` resets them to their start.");
    expect(run.stdout).not.toContain("nothing was set");
  });

  it("resets learned limits to their start, for all, one account or one model, stamped now so running processes adopt it", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const work = `fp:${fingerprint(KEYS.work)}`;
    const write = async () => {
      const now = Date.now();
      const section: ProviderState = {
        ...emptyProviderState(),
        limits: {
          personal: { "glm-4.7": { limit: 5, at: now - MINUTE }, "glm-5.3": { limit: 1, at: now - MINUTE } },
          [work]: { "glm-4.7": { limit: 3, at: now - MINUTE } },
        },
      };
      await mkdir(dirname(box.stateFile), { recursive: true });
      await writeFile(box.stateFile, JSON.stringify({ version: 1, providers: { "zai-coding-plan": section } }));
      return now;
    };
    const limitsOf = async () => {
      const s = await readSection(box);
      return {
        p47: s.limits.personal?.["glm-4.7"]?.limit,
        p53: s.limits.personal?.["glm-5.3"]?.limit,
        w47: s.limits[work]?.["glm-4.7"]?.limit,
      };
    };

    let before = await write();
    const all = await cli(box, ["status", "--reset", "learned"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain("account personal: glm-4.7 limit 5 → 10 (its start)");
    expect(all.stdout).toContain("account work: glm-4.7 limit 3 → 10 (its start)");
    expect(await limitsOf()).toEqual({ p47: 10, p53: 2, w47: 10 });
    expect((await readSection(box)).limits.personal?.["glm-4.7"]?.at).toBeGreaterThanOrEqual(before);

    before = await write();
    expect((await cli(box, ["status", "--reset", "learned:personal"])).code).toBe(0);
    expect(await limitsOf()).toEqual({ p47: 10, p53: 2, w47: 3 });

    await write();
    expect((await cli(box, ["status", "--reset", "learned:*/glm-4.7"])).code).toBe(0);
    expect(await limitsOf()).toEqual({ p47: 10, p53: 1, w47: 10 });

    await write();
    expect((await cli(box, ["status", "--reset", "learned:work/glm-4.7"])).code).toBe(0);
    expect(await limitsOf()).toEqual({ p47: 5, p53: 1, w47: 10 });

    const unknown = await cli(box, ["status", "--reset", "learned:nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no account named "nobody" (known: personal, work)');
  });
});
