import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CLI,
  KEYS,
  ROOT,
  cli,
  correctSetup,
  defaultOpencodeConfig,
  ensureBuilt,
  fakeZai,
  installInOpencodeCache,
  sandbox,
  writeKeys,
  type CliRun,
} from "./helpers.js";

beforeAll(ensureBuilt, 180_000);

function expectNoKeys(run: CliRun): void {
  for (const key of Object.values(KEYS)) {
    expect(run.stdout).not.toContain(key);
    expect(run.stderr).not.toContain(key);
  }
}

describe("oc-zai-multi-account doctor", () => {
  it("passes a correct setup whose npm plugin OpenCode has installed, and checks that it loads", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["doctor"]);
    expect(run.stdout).toMatch(
      /ok {4}.*lists "oc-zai-multi-account": OpenCode loads .*oc-zai-multi-account@latest\/node_modules\/oc-zai-multi-account\/dist\/index\.js \(exports /,
    );
    expect(run.stdout).toContain("3 key(s) in 2 account(s)");
    expect(run.stdout).toMatch(/All good\.\n$/);
    expect(run.code).toBe(0);
    expectNoKeys(run);
  });

  it("fails an npm name OpenCode has not installed (not published yet, or offline): it would run without the plugin", async () => {
    const box = await sandbox();
    await correctSetup(box, defaultOpencodeConfig(), { installed: false });
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("but it is not in OpenCode's package cache");
    expect(run.stdout).toContain("sends the placeholder key to Z.AI");
    expect(run.stdout).not.toContain("All good");
  });

  it("accepts a versioned name once installed, the checkout directory, and a file URL or path of dist/index.js", async () => {
    const specs = [
      "oc-zai-multi-account@0.1.0",
      pathToFileURL(ROOT).href,
      ROOT,
      pathToFileURL(join(CLI, "..", "index.js")).href,
      join(CLI, "..", "index.js"),
    ];
    for (const spec of specs) {
      const box = await sandbox();
      await correctSetup(box, defaultOpencodeConfig({ plugin: [spec] }), { installed: false });
      if (spec.includes("@0.1.0")) await installInOpencodeCache(box, spec);
      const run = await cli(box, ["doctor"]);
      expect(run.stdout, spec).toContain("OpenCode loads");
      expect(run.stdout, spec).toContain("All good");
      expect(run.code).toBe(0);
    }
  });

  it("fails a tarball, a missing path, and a module that is not a plugin, each with the reason", async () => {
    const box = await sandbox();
    const notPlugin = join(box.root, "not-plugin", "oc-zai-multi-account");
    await mkdir(join(notPlugin, "dist"), { recursive: true });
    await writeFile(
      join(notPlugin, "package.json"),
      JSON.stringify({ name: "oc-zai-multi-account", type: "module", main: "./dist/index.js" }),
    );
    await writeFile(
      join(notPlugin, "dist", "index.js"),
      "export const VERSION = '1';\nexport default function plugin() {}\n",
    );
    const cases: Array<[string, RegExp]> = [
      [
        join(box.root, "oc-zai-multi-account-0.1.0.tgz"),
        /a tarball: OpenCode 1\.x does not load plugins from a tarball path/,
      ],
      [join(box.root, "gone", "oc-zai-multi-account", "dist", "index.js"), /which does not exist/],
      [notPlugin, /its export\(s\) VERSION are not plugin functions/],
    ];
    for (const [spec, pattern] of cases) {
      await correctSetup(box, defaultOpencodeConfig({ plugin: [spec] }), { installed: false });
      const run = await cli(box, ["doctor"]);
      expect(run.stdout, spec).toMatch(pattern);
      expect(run.code, spec).toBe(1);
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
      JSON.stringify({
        plugin: [join(CLI, "..", "index.js")],
        provider: { "zai-coding-plan": { options: { baseURL: "http://127.0.0.1:9/v1" } } },
      }),
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
    expect(run.stdout).toContain('fix: add it to "plugin" in');
  });

  it("fails on a file path to the source instead of dist/index.js", async () => {
    const box = await sandbox();
    await correctSetup(box, defaultOpencodeConfig({ plugin: [join(CLI, "..", "..", "src", "index.ts")] }));
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("OpenCode needs the package directory or its built dist/index.js");
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
    await writeKeys(box, {
      keys: [
        { id: "a", apiKey: KEYS.main },
        { id: "b", apiKey: KEYS.main },
      ],
    });
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(keys.1.apiKey): same API key as keys.0 ("a")');
    expectNoKeys(run);
  });

  it("fails on a keys file that is not JSON, with the line and column of each mistake", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, `{"keys": [\n  {"id": "a", "apiKey": "${KEYS.main}",}\n]}`);
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `${box.keysFile}: not valid JSON: trailing comma (not allowed in JSON), at line 2, column 37`,
    );
    expectNoKeys(run);
  });

  it("lists every problem of the keys file at once, each with field and position", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const text = JSON.stringify(
      {
        keys: [
          { id: "a", apiKey: "" },
          { id: "a", apiKey: KEYS.main, colour: "red" },
        ],
        rotation: { strategy: "random" },
      },
      null,
      2,
    );
    await writeKeys(box, text);
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${box.keysFile}: 4 problems`);
    expect(run.stdout).toMatch(/\(keys\.0\.apiKey\) must not be empty, at line 5, column 7/);
    expect(run.stdout).toMatch(/\(keys\.1\) Unrecognized key: "colour", at line 10, column 7/);
    expect(run.stdout).toMatch(/\(rotation\.strategy\) .*, at line 14, column 5/);
    expect(run.stdout).toMatch(/\(keys\.1\.id\) duplicate id "a" \(also keys\.0\.id\), at line 8, column 7/);
    expectNoKeys(run);
  });

  it("says a directory in place of the keys file is a directory", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await rm(box.keysFile);
    await mkdir(box.keysFile);
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${box.keysFile}: is a directory, not a file`);
    expect(run.stdout).not.toContain("EISDIR)");
  });

  it("warns on a keys file readable by others and fails one writable by others, with chmod as the fix", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeKeys(box, { keys: [{ id: "a", apiKey: KEYS.main }] }, 0o644);
    const readable = await cli(box, ["doctor"]);
    expect(readable.code).toBe(0);
    expect(readable.stdout).toContain(`warn  ${box.keysFile} is readable by group or others (mode 644)`);
    expect(readable.stdout).toContain(`fix: chmod 600 ${box.keysFile}`);
    await writeKeys(box, { keys: [{ id: "a", apiKey: KEYS.main }] }, 0o666);
    const writable = await cli(box, ["doctor"]);
    expect(writable.code).toBe(1);
    expect(writable.stdout).toContain(`FAIL  ${box.keysFile} is writable by group or others (mode 666)`);
  });

  it("fails when the state directory cannot be written", async () => {
    const box = await sandbox();
    await correctSetup(box);
    // A file where the directory should be: unwritable even for root.
    await writeFile(join(box.root, "blocked"), "");
    const run = await cli(box, ["doctor"], { ZAI_STATE_FILE: join(box.root, "blocked", "state.json") });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}cannot write to .*blocked \((ENOTDIR|EEXIST)\)/);
  });

  it("says ZAI_API_KEYS is set but holds no key", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["doctor"], { ZAI_API_KEYS: " , ," });
    expect(run.stdout).toContain("warn  $ZAI_API_KEYS is set but holds no key");
    expect(run.stdout).toContain("keys: 3 key(s) in 2 account(s) from");
  });

  it("fails on the general endpoint, naming 1113", async () => {
    const box = await sandbox();
    await correctSetup(
      box,
      defaultOpencodeConfig({
        provider: { "zai-coding-plan": { options: { baseURL: "https://api.z.ai/api/paas/v4" } } },
      }),
    );
    const run = await cli(box, ["doctor"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      'is not a Coding Plan endpoint: Coding Plan keys get 1113 "Insufficient balance" there',
    );
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
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      problems: number;
      checks: Array<{ id: string; level: string; message: string; fix?: string }>;
    };
    expect(report).toMatchObject({
      command: "doctor",
      provider: "zai-coding-plan",
      ok: false,
      problems: 1,
      warnings: 0,
    });
    expect(report.checks.map((c) => c.id)).toEqual([
      "plugin",
      "provider",
      "auth",
      "keys-file",
      "keys",
      "endpoint",
      "state",
      "ledger",
    ]);
    expect(report.checks.find((c) => c.id === "auth")).toMatchObject({
      level: "fail",
      fix: expect.stringContaining("opencode providers login"),
    });
  });

  it("--probe sends one tiny request per key and model and reports ok / 401 / 1113", async () => {
    const server = await fakeZai((key, model) => {
      if (key === KEYS.spare)
        return { status: 401, body: { error: { code: "1000", message: "Authentication failed" } } };
      if (model === "glm-5")
        return {
          status: 429,
          body: { error: { code: "1113", message: "Insufficient balance or no resource package. Please recharge." } },
        };
      return { status: 200, body: { choices: [{ message: { role: "assistant", content: "p" } }] } };
    });
    try {
      const box = await sandbox();
      await correctSetup(
        box,
        defaultOpencodeConfig({ provider: { "zai-coding-plan": { options: { baseURL: server.baseURL } } } }),
      );
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
      const report = JSON.parse(json.stdout) as {
        probe: { results: Array<{ key: string; model: string; result: string; level: string }> };
      };
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
