import { rm, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, correctSetup, ensureBuilt, sandbox, type CliRun } from "./helpers.js";

beforeAll(ensureBuilt, 180_000);

const PASTED = ["sk-test-login-w1", "sk-test-login-w2", "sk-test-login-h1"];

function expectNoKeys(run: CliRun): void {
  for (const key of PASTED) expect(run.stdout + run.stderr).not.toContain(key);
}

/** Keys pasted at `opencode providers login`: doctor and status say where keys came from, and never show one. */
describe("keys stored at login, seen by doctor and status", () => {
  it("named accounts: doctor names the source and the grouping; status lists the login's keys by id", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await rm(box.keysFile);
    const key = `work=${PASTED[0]}, work=${PASTED[1]} home=${PASTED[2]}`;
    await writeFile(
      box.authFile,
      JSON.stringify({ "zai-coding-plan": { type: "api", key, metadata: { accounts: "named" } } }),
      { mode: 0o600 },
    );
    const doctor = await cli(box, ["doctor"]);
    expect(doctor.stdout).toContain("(3 key(s) in 2 account(s) from the login (accounts named as account=key))");
    expect(doctor.stdout).toContain("keys: 3 key(s) in 2 account(s) from `opencode providers login`");
    expect(doctor.code).toBe(0);
    const status = await cli(box, ["status"]);
    expect(status.stdout).toContain("account work: usable\n  key login-1  usable\n  key login-2  usable");
    expect(status.stdout).toContain("account home: usable\n  key login-3  usable");
    expectNoKeys(doctor);
    expectNoKeys(status);
  });

  it("a keys file with keys comes first: doctor says the login's keys are not used", async () => {
    const box = await sandbox();
    await correctSetup(box);
    await writeFile(
      box.authFile,
      JSON.stringify({ "zai-coding-plan": { type: "api", key: PASTED.join(" "), metadata: { accounts: "each" } } }),
      { mode: 0o600 },
    );
    const doctor = await cli(box, ["doctor"]);
    expect(doctor.stdout).toContain("lists keys, so the 3 key(s) stored at login are not used");
    expectNoKeys(doctor);
  });
});
