/**
 * README, Install: which `plugin` entries OpenCode 1.18.33 really loads, and that `doctor` agrees with it on each.
 * A spec that loads: requests carry the real keys. One that does not: OpenCode silently sends the stored
 * placeholder, and doctor must fail with the reason instead of saying "All good".
 */
import { execFile } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { keepForCase, makeEnv, type OcEnv, ocRun, PLACEHOLDER, PLUGIN } from "./harness.js";

const run = promisify(execFile);
const CHECKOUT = join(PLUGIN, "..", "..");
const CLI = join(CHECKOUT, "dist", "cli.js");

async function doctor(e: OcEnv): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, "doctor"], { cwd: e.proj, env: e.env });
    return { code: 0, stdout };
  } catch (error) {
    const x = error as { code?: number; stdout?: string };
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "" };
  }
}

describe("e2e: install paths, with doctor's verdict on each", () => {
  let sim: Simulator | undefined;
  let env: OcEnv | undefined;
  const keep = keepForCase();

  async function setup(spec: string): Promise<{ sim: Simulator; env: OcEnv }> {
    sim = keep(await startSimulator({ accounts: [{ id: "alpha", keys: ["sk-test-a1"] }] }));
    env = keep(
      makeEnv({ baseURL: sim.url, authKey: PLACEHOLDER, keysFile: { keys: [{ id: "a1", apiKey: "sk-test-a1" }] } }),
    );
    writeFileSync(
      join(env.proj, "opencode.json"),
      JSON.stringify({ plugin: [spec], provider: { "zai-coding-plan": { options: { baseURL: sim.url } } } }),
    );
    return { sim, env };
  }

  it("the checkout directory (README's install from a clone) loads, and doctor says so", async () => {
    const { sim, env } = await setup(pathToFileURL(CHECKOUT).href);
    const result = await ocRun(env, "say hi", { title: "t" });
    expect(result.code).toBe(0);
    expect(sim.stats().authorizations).toEqual(["Bearer sk-test-a1"]);
    const report = await doctor(env);
    expect(report.stdout).toContain(`OpenCode loads ${PLUGIN}`);
    expect(report.code).toBe(0);
  });

  it("the npm name, once in OpenCode's package cache, loads from there, and doctor finds it there", async () => {
    const { sim, env } = await setup("oc-zai-multi-account");
    const cached = join(env.root, "cache", "opencode", "packages", "oc-zai-multi-account@latest");
    mkdirSync(join(cached, "node_modules"), { recursive: true });
    symlinkSync(CHECKOUT, join(cached, "node_modules", "oc-zai-multi-account"), "dir");
    writeFileSync(join(cached, "package.json"), JSON.stringify({ dependencies: { "oc-zai-multi-account": "0.1.0" } }));
    const result = await ocRun(env, "say hi", { title: "t" });
    expect(result.code).toBe(0);
    expect(sim.stats().authorizations).toEqual(["Bearer sk-test-a1"]);
    const report = await doctor(env);
    expect(report.stdout).toContain("OpenCode loads");
    expect(report.code).toBe(0);
  });

  it.each([
    // A version that will never exist, so the case holds with or without network and after the package is published.
    [
      "an npm spec OpenCode cannot install",
      () => "oc-zai-multi-account@0.0.0-never-published",
      "not in OpenCode's package cache",
    ],
    [
      "an `npm pack` tarball",
      () => pathToFileURL(join(env!.root, "oc-zai-multi-account-0.1.0.tgz")).href,
      "does not load plugins from a tarball path",
    ],
  ])(
    "%s does not load: the placeholder reaches Z.AI, and doctor fails with the reason",
    async (_name, spec, reason) => {
      const { sim, env } = await setup("placeholder");
      writeFileSync(join(env.root, "oc-zai-multi-account-0.1.0.tgz"), "");
      writeFileSync(
        join(env.proj, "opencode.json"),
        JSON.stringify({ plugin: [spec()], provider: { "zai-coding-plan": { options: { baseURL: sim.url } } } }),
      );
      const result = await ocRun(env, "say hi", { title: "t" });
      expect(result.code).not.toBe(0);
      expect(sim.stats().authorizations).toContain(`Bearer ${PLACEHOLDER}`);
      const report = await doctor(env);
      expect(report.stdout).toContain(reason);
      expect(report.stdout).not.toContain("All good");
      expect(report.code).toBe(1);
    },
  );
});
