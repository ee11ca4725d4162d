import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, KEYS, cli, correctSetup, defaultOpencodeConfig, ensureBuilt, fakeZai, sandbox, writeKeys, type CliRun } from "./helpers.js";

beforeAll(ensureBuilt, 180_000);

function expectNoKeys(run: CliRun): void {
  for (const key of Object.values(KEYS)) {
    expect(run.stdout).not.toContain(key);
    expect(run.stderr).not.toContain(key);
  }
}

describe("oc-zai-multi-account doctor", () => {
  it("passes a correct setup that lists the plugin by npm name before OpenCode installed it", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["doctor"]);
    expect(run.stdout).toContain('plugin listed in');
    expect(run.stdout).toContain("3 key(s) in 2 account(s)");
    expect(run.stdout).toMatch(/All good\.\n$/);
    expect(run.code).toBe(0);
    expectNoKeys(run);
  });

  it("accepts a versioned name and a file URL of this package's dist/index.js", async () => {
    for (const spec of ["oc-zai-multi-account@0.1.0", pathToFileURL(join(CLI, "..", "index.js")).href]) {
      const box = await sandbox();
      await correctSetup(box, defaultOpencodeConfig({ plugin: [spec] }));
      const run = await cli(box, ["doctor"]);
      expect(run.stdout, spec).toContain("All good");
      expect(run.code).toBe(0);
    }
  });

  it("accepts a [name, options] tuple and reads the keys file its keysFile option names", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const moved = join(box.root, "elsewhere-keys.json");
    await writeFile(moved, JSON.stringify({ keys: [{ id: "only", apiKey: KEYS.main }] }), { mode: 0o600 });
    await correctSetup(box, defaultOpencodeConfig({ plugin: [["oc-zai-multi-account", { keysFile: moved }]] }));
    const run = await cli(box, ["doctor"]);
    expect(run.stdout).toContain(`${moved} (set by plugin option keysFile): 1 enabled key(s)`);
    expect(run.code).toBe(0);
  });

  it("reads a project opencode.json with a local test server as baseURL (info note, still passing)", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeFile(join(box.configDir, "opencode.jsonc"), "{}");
    await writeFile(
      join(box.project, "opencode.json"),
      JSON.stringify({ plugin: [join(CLI, "..", "index.js")], provider: { "zai-coding-plan": { options: { baseURL: "http://127.0.0.1:9/v1" } } } }),
    );
    const run = await cli(box, ["doctor"]);
    expect(run.stdout).toMatch(/info {2}baseURL http:\/\/127\.0\.0\.1:9\/v1 .* is a local server/);
    expect(run.code).toBe(0);
  });

  it("fails without the plugin entry, with the fix", async () => {
    const box = await sandbox();
    await correctSetup(box, { provider: { "zai-coding-plan": {} } });
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  oc-zai-multi-account is not in the "plugin" list');
    expect(run.stdout).toContain('fix: add "plugin": ["oc-zai-multi-account"] to');
  });

  it("fails on a file path to the source instead of dist/index.js", async () => {
    const box = await sandbox();
    await correctSetup(box, defaultOpencodeConfig({ plugin: [join(CLI, "..", "..", "src", "index.ts")] }));
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("OpenCode needs the built entry .../dist/index.js");
  });

  it("fails without an auth entry, with the login command", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeFile(box.authFile, "{}");
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("no zai-coding-plan entry in");
    expect(run.stdout).toContain("fix: run `opencode providers login --provider zai-coding-plan`");
  });

  it("fails on a keys file with a duplicate key, naming the field and never the key", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, { keys: [{ id: "a", apiKey: KEYS.main }, { id: "b", apiKey: KEYS.main }] });
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(keys.1.apiKey): same API key as keys.0 ("a")');
    expectNoKeys(run);
  });

  it("fails on a keys file that is not JSON", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, `{"keys": [ {"id": "a", "apiKey": "${KEYS.main}" ]}`);
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/is not valid JSON at line 1/);
    expectNoKeys(run);
  });

  it("fails on a keys file readable by others, with chmod as the fix", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, { keys: [{ id: "a", apiKey: KEYS.main }] }, 0o644);
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("is readable by group or others (mode 644)");
    expect(run.stdout).toContain(`fix: chmod 600 ${box.keysFile}`);
  });

  it("fails on the general endpoint, naming 1113", async () => {
    const box = await sandbox();
    await correctSetup(box, defaultOpencodeConfig({ provider: { "zai-coding-plan": { options: { baseURL: "https://api.z.ai/api/paas/v4" } } } }));
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('is not a Coding Plan endpoint: Coding Plan keys get 1113 "Insufficient balance" there');
    expect(run.stdout).toContain("fix: set baseURL to https://api.z.ai/api/coding/paas/v4");
  });

  it("fails when no source supplies keys", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, { keys: [] });
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("FAIL  no API keys for zai-coding-plan");
  });

  it("says which source wins when ZAI_API_KEYS is set", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["doctor"], { ZAI_API_KEYS: "sk-test-env1,sk-test-env2" });
    expect(run.stdout).toContain("keys: 2 key(s) in 2 account(s) from $ZAI_API_KEYS");
    expect(run.stdout).toContain("the 3 key(s) in");
    expect(run.stdout).not.toContain("sk-test-env");
    expect(run.code).toBe(0);
  });

  it("prints a machine-readable report with --json", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeFile(box.authFile, "{}");
    const run = await cli(box, ["doctor", "--json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { ok: boolean; problems: number; checks: Array<{ id: string; level: string; message: string; fix?: string }> };
    expect(report).toMatchObject({ command: "doctor", provider: "zai-coding-plan", ok: false, problems: 1, warnings: 0 });
    expect(report.checks.map((c) => c.id)).toEqual(["plugin", "provider", "auth", "keys-file", "keys", "endpoint", "state", "ledger"]);
    expect(report.checks.find((c) => c.id === "auth")).toMatchObject({ level: "fail", fix: expect.stringContaining("opencode providers login") });
  });

  it("--probe sends one tiny request per key and model and reports ok / 401 / 1113", async () => {
    const server = await fakeZai((key, model) => {
      if (key === KEYS.spare) return { status: 401, body: { error: { code: "1000", message: "Authentication failed" } } };
      if (model === "glm-5") return { status: 429, body: { error: { code: "1113", message: "Insufficient balance or no resource package. Please recharge." } } };
      return { status: 200, body: { choices: [{ message: { role: "assistant", content: "p" } }] } };
    });
    try {
      const box = await sandbox();
      await correctSetup(box, defaultOpencodeConfig({ provider: { "zai-coding-plan": { options: { baseURL: server.baseURL } } } }));
      const run = await cli(box, ["doctor", "--probe", "--models", "glm-4.7,glm-5"]);
      const lines = run.stdout.split("\n");
      expect(lines[0]).toMatch(/spends a little quota/);
      expect(run.stdout).toContain("main (account personal) glm-4.7: ok - answered (200)");
      expect(run.stdout).toContain("main (account personal) glm-5: 1113 - glm-5 is not in this account's plan");
      expect(run.stdout).toMatch(/FAIL {2}spare \(account personal\) glm-4\.7: 401 - key rejected \(1000/);
      expect(run.stdout).toContain(`fix: replace or remove key "spare" in ${box.keysFile}`);
      expect(run.code).toBe(1);
      expectNoKeys(run);
      expect(server.requests).toHaveLength(6);
      expect(server.requests[0]).toMatchObject({
        url: "/api/coding/paas/v4/chat/completions",
        body: { model: "glm-4.7", messages: [{ role: "user", content: "ping" }], max_tokens: 1, stream: false },
      });

      const json = await cli(box, ["doctor", "--probe", "--json"]);
      expect(json.stderr).toMatch(/spends a little quota/);
      const report = JSON.parse(json.stdout) as { probe: { results: Array<{ key: string; model: string; result: string; level: string }> } };
      expect(report.probe.results.map((r) => [r.key, r.model, r.result, r.level])).toEqual([
        ["main", "glm-4.7", "ok", "ok"],
        ["spare", "glm-4.7", "401", "fail"],
        ["work", "glm-4.7", "ok", "ok"],
      ]);
    } finally {
      await server.close();
    }
  });
});

describe("oc-zai-multi-account usage", () => {
  it("prints usage and exits 2 on an unknown command or option", async () => {
    const box = await sandbox();
    const unknown = await cli(box, ["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain("Usage: oc-zai-multi-account");
    expect((await cli(box, ["doctor", "--bogus"])).code).toBe(2);
  });

  it("prints help and the version", async () => {
    const box = await sandbox();
    const help = await cli(box, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("doctor");
    const version = await cli(box, ["--version"]);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});
