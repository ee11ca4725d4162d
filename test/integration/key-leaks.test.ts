/**
 * Issue 9: no key leaves through the plugin's own exits. Upstream messages echo the request's key and its
 * Authorization header (whole and as fragments, see the simulator's `echo-key` fault); one test per exit asserts
 * that no 12+ character fragment of any configured key is in what OpenCode or the user can see.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KeysFileInput } from "../../src/lib.js";
import type { Fault, SimulatorConfig } from "../../simulator/types.js";
import { cli, defaultOpencodeConfig, ensureBuilt, sandbox, writeKeys, type Sandbox } from "../cli/helpers.js";
import { describeLeaks, LeakScanner } from "../helpers/key-fragments.js";
import { keyEntries, setup } from "./setup.js";

/** Long, obviously fake keys (not Z.AI-shaped), so fragments of 12+ characters mean something. */
const KEY_A = "sk-test-leak-alpha-qqqqqqqq-wwww-0001";
const KEY_B = "sk-test-leak-bravo-rrrrrrrr-yyyy-0002";
const SECRETS = [KEY_A, KEY_B, `Bearer ${KEY_A}`, `Bearer ${KEY_B}`];

/** Echoes the key, the header and fragments; avoids the texts OpenCode retries on, so final answers may quote it. */
const ECHO = "request denied by gateway: Authorization: {authorization}; key {key} (starts {keyHead}, ends {keyTail})";
const echo = (code: string, status: number, extra: Partial<Fault> = {}): Fault =>
  ({ kind: "echo-key", code, status, message: ECHO, ...extra }) as Fault;
const onA = { match: { account: "A" } };
const onB = { match: { account: "B" } };

type Env = Awaited<ReturnType<typeof setup>>;
let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const SIM: SimulatorConfig = {
  accounts: [
    { id: "A", keys: [KEY_A], limits: { "glm-4.7": 2 } },
    { id: "B", keys: [KEY_B], limits: { "glm-4.7": 2 } },
  ],
};

async function start(
  keysFile: Partial<KeysFileInput> = {},
  extra: { env?: Record<string, string>; sim?: Partial<SimulatorConfig> } = {},
): Promise<Env> {
  env = await setup({
    sim: { ...SIM, ...extra.sim },
    keysFile: { keys: keyEntries(`A:${KEY_A}`, `B:${KEY_B}`), ...keysFile },
    ...(extra.env ? { env: extra.env } : {}),
  });
  return env;
}

/** Everything the caller and the user saw: the answer, its headers, every toast and log line. */
async function expectNoKeyIn(e: Env, response: Response, expected: { status: number; code: string }): Promise<string> {
  const body = await response.text();
  expect({ status: response.status, code: response.headers.get("x-zai-multi-account") ?? "(upstream)" }).toEqual({
    status: expected.status,
    code: expected.code,
  });
  const scanner = new LeakScanner(SECRETS);
  scanner.scanResponse("answer", response, body);
  for (const toast of e.toasts) scanner.scan("toast", `${toast.title}\n${toast.message}`);
  for (const log of e.logs) scanner.scan("log", JSON.stringify(log));
  expect(describeLeaks(scanner.found), "key fragments visible to the caller or the user").toBe("");
  return body;
}

describe("key leaks: every PluginErrorCode", () => {
  it("retries_exhausted quotes the last upstream failure without the key", async () => {
    const e = await start({ retry: { maxAttempts: 3 } });
    e.sim.inject(echo("1234", 500, { times: 10 }));
    const body = await expectNoKeyIn(e, await e.chat(), { status: 429, code: "retries_exhausted" });
    expect(body).toContain("gave up after 3 attempts");
  });

  it("all_cooling describes a disabled account's reason without the key", async () => {
    const e = await start();
    e.sim.inject(echo("1112", 403, onA), { kind: "http-error", code: "1308", ...onB });
    await expectNoKeyIn(e, await e.chat(), { status: 429, code: "all_cooling" });
  });

  it("no_usable_keys lists every disabled account's reason without the key", async () => {
    const e = await start();
    e.sim.inject(echo("1112", 403, onA), echo("1112", 403, onB));
    await expectNoKeyIn(e, await e.chat(), { status: 401, code: "no_usable_keys" });
  });

  it("model_unavailable lists the other blockers without the key", async () => {
    const e = await start();
    e.sim.inject(echo("1112", 403, onA), echo("1113", 429, onB));
    await expectNoKeyIn(e, await e.chat(), { status: 403, code: "model_unavailable" });
  });

  it("queue_timeout reports every account's state without the key", async () => {
    const e = await start(
      { models: { "glm-4.7": { maxConcurrency: 1, adaptive: false } }, retry: { maxQueueWaitMs: 5_000 } },
      { sim: { chunks: 2, chunkDelayMs: 60_000 } },
    );
    e.sim.inject(echo("1112", 403, onA));
    const holding = await e.chat(); // A is disabled on the way; B serves and keeps its only slot
    expect(holding.status).toBe(200);
    const queued = e.chat();
    await until(() => e.loaded.fetch !== undefined && waiting(e) === 1);
    e.clock.advance(5_000);
    await expectNoKeyIn(e, await queued, { status: 429, code: "queue_timeout" });
    await holding.body?.cancel();
  });

  it("config_invalid does not quote the keys file around a syntax error", async () => {
    const path = join(tmpdir(), `zai-leak-${process.pid}-${Date.now()}.json`);
    await writeFile(path, `{"keys":[{"id":"a","apiKey":"${KEY_A}" "account":"A"}]}`, { mode: 0o600 });
    env = await setup({ sim: SIM, env: { ZAI_KEYS_FILE: path } });
    await expectNoKeyIn(env, await env.chat(), { status: 400, code: "config_invalid" });
    expect(env.toasts.length).toBeGreaterThan(0);
  });

  it("upstream_unusable (HTML pages and cut bodies that echo the key) ends in a clean retries_exhausted", async () => {
    const e = await start({ retry: { maxAttempts: 2 } });
    e.sim.inject(
      { kind: "truncated-error", code: "1305", status: 500, message: ECHO },
      { kind: "html", message: `Forbidden: ${ECHO}` },
    );
    const body = await expectNoKeyIn(e, await e.chat(), { status: 429, code: "retries_exhausted" });
    expect(body).toContain("HTML page");
  });

  it("1211 (unknown model) does not quote the echo", async () => {
    const e = await start();
    e.sim.inject(echo("1211", 400));
    await expectNoKeyIn(e, await e.chat(), { status: 400, code: "1211" });
  });

  it("1313 (fair use) quotes Z.AI's message without the key", async () => {
    const e = await start();
    e.sim.inject(echo("1313", 429));
    await expectNoKeyIn(e, await e.chat(), { status: 403, code: "1313" });
  });
});

describe("key leaks: toasts, logs, answers passed through", () => {
  it("the key-disabled and account-disabled toasts and their log lines are clean", async () => {
    const e = await start();
    e.sim.inject(echo("1001", 401, onA), echo("1112", 403, onB));
    await expectNoKeyIn(e, await e.chat(), { status: 401, code: "no_usable_keys" });
    expect(e.toasts.map((t) => t.message).join("\n")).toMatch(/rejected by Z\.AI[\s\S]*unusable/);
  });

  it("an upstream 4xx passed through to OpenCode is clean", async () => {
    const e = await start();
    e.sim.inject(echo("1210", 400));
    await expectNoKeyIn(e, await e.chat(), { status: 400, code: "(upstream)" });
  });

  it("an unknown code inside a 200 stream, quoted in the final answer, is clean", async () => {
    const e = await start();
    e.sim.inject({ kind: "sse-error", code: "1214", message: ECHO });
    await expectNoKeyIn(e, await e.chat(), { status: 400, code: "1214" });
  });
});

describe("key leaks: the state file and the CLI", () => {
  let box: Sandbox;
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  /** A sandbox whose keys file, state file and baseURL the plugin run and the CLI share. */
  async function sharedSetup(): Promise<Env> {
    box = await sandbox();
    const keysFile = { keys: keyEntries(`A:${KEY_A}`, `B:${KEY_B}`) };
    await writeKeys(box, keysFile);
    await mkdir(dirname(box.stateFile), { recursive: true });
    const e = await start({}, { env: { ZAI_STATE_FILE: box.stateFile } });
    await writeFile(
      join(box.configDir, "opencode.jsonc"),
      JSON.stringify(defaultOpencodeConfig({ provider: { "zai-coding-plan": { options: { baseURL: e.sim.url } } } })),
    );
    await writeFile(
      box.authFile,
      JSON.stringify({ "zai-coding-plan": { type: "api", key: "oc-zai-multi-account-managed" } }),
      { mode: 0o600 },
    );
    return e;
  }

  function expectClean(where: string, text: string): void {
    const scanner = new LeakScanner(SECRETS);
    scanner.scan(where, text);
    expect(describeLeaks(scanner.found), `key fragments in ${where}`).toBe("");
  }

  it("the state file holds a disabled account's reason without the key", async () => {
    const e = await sharedSetup();
    e.sim.inject(echo("1112", 403, onA));
    expect((await e.chat()).status).toBe(200);
    const state = await readFile(box.stateFile, "utf8");
    expect(state).toContain("1112");
    expectClean("state file", state);
  });

  it("`status` (text and --json) shows the disabled reason without the key", async () => {
    const e = await sharedSetup();
    e.sim.inject(echo("1112", 403, onA));
    await (await e.chat()).text();
    for (const args of [["status"], ["status", "--json"]]) {
      const run = await cli(box, args);
      expect(run.stdout).toContain("1112");
      expectClean(`${args.join(" ")} stdout`, run.stdout);
      expectClean(`${args.join(" ")} stderr`, run.stderr);
    }
  });

  it("`doctor --probe` reports key-echoing answers without the key", async () => {
    const e = await sharedSetup();
    e.sim.inject(echo("1001", 401, onA), echo("1112", 403, onB));
    const run = await cli(box, ["doctor", "--probe", "--models", "glm-4.7"]);
    expect(run.stdout).toMatch(/1001[\s\S]*1112|1112[\s\S]*1001/);
    expectClean("doctor stdout", run.stdout);
    expectClean("doctor stderr", run.stderr);
  });
});

function waiting(e: Env): number {
  return (e.loaded.fetch as unknown as { leases: { waiting(): number } }).leases.waiting();
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
