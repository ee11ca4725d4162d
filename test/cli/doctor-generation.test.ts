import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, correctSetup, defaultOpencodeConfig, ensureBuilt, sandbox, type Sandbox } from "./helpers.js";

/** An `opencode` that only answers --version, as the installed one would. */
async function fakeOpencode(box: Sandbox, version: string): Promise<Record<string, string>> {
  const bin = join(box.root, "opencode");
  await writeFile(bin, `#!/bin/sh\necho "${version}"\n`);
  await chmod(bin, 0o755);
  return { OPENCODE_BIN: bin };
}

beforeAll(ensureBuilt, 180_000);

describe("doctor and status know which OpenCode is installed", () => {
  it("OpenCode 2.x: checks `plugins` (not 1.x's `plugin`) and the providers its options serve", async () => {
    const box = await sandbox();
    const v2 = {
      $schema: "https://opencode.ai/config.json",
      plugins: [{ package: "oc-zai-multi-account", options: { providers: ["zai-coding-plan"] } }],
    };
    await correctSetup(box, v2, { installed: false });
    const run = await cli(box, ["doctor"], await fakeOpencode(box, "2.0.24"));
    expect(run.stdout).toMatch(/ok {4}OpenCode 2\.0\.24 \(plugin API 2\.x\)/);
    expect(run.stdout).toMatch(/ok {4}"plugins" in .* loads oc-zai-multi-account for zai-coding-plan/);
    expect(run.stdout).not.toContain("package cache");
  });

  it("OpenCode 2.x with the package only under 1.x's `plugin`: fails and says which key 2.x reads", async () => {
    const box = await sandbox();
    await correctSetup(box, defaultOpencodeConfig(), { installed: false });
    const run = await cli(box, ["doctor"], await fakeOpencode(box, "2.0.24"));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /FAIL {2}oc-zai-multi-account is not in the "plugins" list .*under "plugin", which only OpenCode 1\.x reads/,
    );
  });

  it("status names the installed OpenCode and the plugin API it loads (or that none was found)", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const v2 = await cli(box, ["status"], await fakeOpencode(box, "opencode 2.0.24"));
    expect(v2.stdout).toContain("opencode: opencode 2.0.24 (plugin API 2.x)");
    const json = await cli(box, ["status", "--json"], await fakeOpencode(box, "1.18.33"));
    expect((JSON.parse(json.stdout) as { opencode: unknown }).opencode).toEqual({ version: "1.18.33", generation: 1 });
    const none = await cli(box, ["status"]);
    expect(none.stdout).toContain("opencode: not found (set OPENCODE_BIN, or put opencode on PATH");
  });

  it("OpenCode 1.x: names the version and keeps the 1.x load check", async () => {
    const box = await sandbox();
    await correctSetup(box);
    const run = await cli(box, ["doctor"], await fakeOpencode(box, "1.18.33"));
    expect(run.stdout).toMatch(/ok {4}OpenCode 1\.18\.33 \(plugin API 1\.x\)/);
    expect(run.stdout).toMatch(/lists "oc-zai-multi-account": OpenCode loads/);
  });
});
