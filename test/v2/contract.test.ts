/**
 * Contract suite: this package under the modelled OpenCode 2.x host (test/v2/host), against the simulator.
 * Each scenario runs under both classifier revisions of the host where the revision matters.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { EngineRegistry, PLACEHOLDER_KEY } from "../../src/lib.js";
import { keyEntries } from "../integration/setup.js";
import { reducedV1Context } from "./host/context.js";
import { V2Host } from "./host/host.js";
import { decodeDefault, resolvePackageEntry } from "./host/load.js";
import type { Revision } from "./host/provider-error.js";
import { builtHost, PACKAGE_DIR, v2Env, type V2Env } from "./setup.js";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../helpers/fake-clock.js";

const REVISIONS: Revision[] = ["older", "later"];
let env: V2Env | undefined;
let sim: Simulator | undefined;
afterEach(async () => {
  await env?.close();
  await sim?.close();
  env = undefined;
  sim = undefined;
  vi.unstubAllEnvs();
});

describe("loading as 2.x loads a package", () => {
  it("resolves the built entry by exports, decodes { id, setup } and registers 3 hooks per provider", async () => {
    expect(await resolvePackageEntry(PACKAGE_DIR)).toMatch(/dist\/index\.js$/);
    vi.stubEnv("ZAI_STATE_FILE", "off");
    vi.stubEnv("ZAI_LEDGER", "local");
    const one = await builtHost("later", {});
    expect(one.hooks.count()).toBe(3);
    const both = await builtHost("later", { providers: ["zai-coding-plan", "zhipuai-coding-plan"] });
    expect(both.hooks.count()).toBe(6);
    await both.unload();
    expect(both.hooks.count()).toBe(0);
  });

  it("the host model decodes effect before setup and rejects a function default", () => {
    const f = () => undefined;
    expect(decodeDefault({ default: { id: "x", effect: f, setup: f } }).kind).toBe("effect");
    expect(() => decodeDefault({ default: f })).toThrow(/default definition/);
  });

  it("setup under 1.18's reduced context registers nothing and starts nothing", async () => {
    const registry = new EngineRegistry();
    env = await v2Env({
      sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }] },
      keysFile: { keys: keyEntries("A:sk-test-a") },
      deps: { registry },
    });
    const plugin = env.plugin;
    expect(plugin.kind).toBe("setup");
    if (plugin.kind === "setup") expect(await plugin.setup(reducedV1Context())).toBeUndefined();
    expect(registry.size).toBe(0);
    expect((await env.turn()).ok).toBe(true); // the full-context instance starts the engine on its first request
    expect(registry.size).toBe(1);
  });

  it("bad options: nothing registered, the reason logged", async () => {
    env = await v2Env({ sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }] }, options: { providers: ["openai"] } });
    expect(env.host.hooks.count()).toBe(0);
    expect(env.logs[0]?.message).toMatch(/plugin option "providers"/);
  });
});

const COMBOS = REVISIONS.flatMap((revision) =>
  (["plugin", "host"] as const).map((transport) => ({ revision, transport })),
);

describe.each(COMBOS)("under the $revision host classifier, transport $transport", ({ revision, transport }) => {
  const options = { transport };
  it("rotation: the built package serves turns round-robin with real keys the host never holds", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "A", keys: ["sk-test-a"] },
        { id: "B", keys: ["sk-test-b"] },
      ],
    });
    const dir = await mkdtemp(join(tmpdir(), "zai-v2-built-"));
    const keysFile = join(dir, "zai-keys.json");
    await writeFile(keysFile, JSON.stringify({ keys: keyEntries("A:sk-test-a", "B:sk-test-b") }), { mode: 0o600 });
    vi.stubEnv("ZAI_STATE_FILE", "off");
    vi.stubEnv("ZAI_LEDGER", "local");
    vi.stubEnv("ZAI_API_KEYS", "");
    const host = await builtHost(revision, { keysFile, transport });
    for (let i = 0; i < 4; i++) {
      const turn = await host.turn({ baseURL: sim.url, credential: PLACEHOLDER_KEY, sessionID: `ses_${i}` });
      expect(turn).toMatchObject({ ok: true, attempts: 1 });
      expect(turn.text.length).toBeGreaterThan(0);
    }
    expect(sim.stats().authorizations).toEqual([
      "Bearer sk-test-a",
      "Bearer sk-test-b",
      "Bearer sk-test-a",
      "Bearer sk-test-b",
    ]);
    if (transport === "plugin") expect(JSON.stringify(host.records)).not.toMatch(/sk-test/);
  });

  it("account-wide slots: 2 instances x 4 concurrent turns on a 2-slot account, 0 upstream 1302s", async () => {
    env = await v2Env({
      revision,
      options,
      sim: {
        accounts: [{ id: "A", keys: ["sk-test-a1", "sk-test-a2"], limits: { "glm-4.7": 2 } }],
        latencyMs: 20,
        chunkDelayMs: 5,
      },
      keysFile: {
        keys: keyEntries("A/a1:sk-test-a1", "A/a2:sk-test-a2"),
        models: { "glm-4.7": { maxConcurrency: 2 } },
      },
    });
    const other = await env.secondInstance();
    const e = env;
    const turns = await Promise.all([
      ...[0, 1, 2, 3].map((i) => e.turn({ sessionID: `ses_a${i}` })),
      ...[0, 1, 2, 3].map((i) =>
        other.turn({ baseURL: e.sim.url, credential: PLACEHOLDER_KEY, sessionID: `ses_b${i}` }),
      ),
    ]);
    expect(turns.every((t) => t.ok && t.retries.length === 0)).toBe(true);
    const stats = env.sim.stats();
    expect(stats.byCode["1302"] ?? 0).toBe(0);
    expect(stats.completed).toBe(8);
    expect(stats.maxInFlight.A?.["glm-4.7"]).toBe(2);
  });

  it("2.x session headers: a subagent is its own session (own id), with its parent's account only while that is free", async () => {
    env = await v2Env({
      revision,
      options,
      sim: {
        accounts: [
          { id: "A", keys: ["sk-test-a"], limits: { "glm-4.7": 1 } },
          { id: "B", keys: ["sk-test-b"], limits: { "glm-4.7": 1 } },
        ],
        latencyMs: 60,
      },
      keysFile: { keys: keyEntries("A:sk-test-a", "B:sk-test-b"), models: { "glm-4.7": { maxConcurrency: 1 } } },
    });
    const e = env;
    const served = () =>
      e.sim
        .stats()
        .hits.filter((h) => h.status === 200)
        .map((h) => h.account);
    expect((await e.turn({ sessionID: "ses_parent" })).ok).toBe(true);
    // Two subagents at once: one takes the parent's (free) account, the other is placed as a new session.
    const both = await Promise.all([
      e.turn({ sessionID: "ses_child1", parentSessionID: "ses_parent" }),
      e.turn({ sessionID: "ses_child2", parentSessionID: "ses_parent" }),
    ]);
    expect(both.every((t) => t.ok)).toBe(true);
    const [, first, second] = served();
    expect(new Set([first, second])).toEqual(new Set(["A", "B"]));
    // Follow-ups, one at a time: each subagent stays on its own account, whatever parent id x-session-affinity carries.
    const order: string[] = [];
    for (let i = 0; i < 2; i++) {
      for (const id of ["ses_child1", "ses_child2"]) {
        await e.turn({ sessionID: id, parentSessionID: "ses_parent" });
        order.push(id);
      }
    }
    const later = served().slice(3);
    const home = new Map(later.map((account, i) => [order[i]!, account]));
    expect(home.get("ses_child1")).not.toBe(home.get("ses_child2"));
    expect(later).toEqual(order.map((id) => home.get(id)));
  });

  it("1302 from an over-estimated limit is absorbed inside the plugin (re-issued, limit learned): no host retry", async () => {
    env = await v2Env({
      revision,
      options,
      sim: { accounts: [{ id: "A", keys: ["sk-test-a"], limits: { "glm-4.7": 1 } }], latencyMs: 100 },
      keysFile: { keys: keyEntries("A:sk-test-a"), models: { "glm-4.7": { maxConcurrency: 3 } } },
    });
    const e = env;
    const turns = await Promise.all([0, 1, 2, 3].map((i) => e.turn({ sessionID: `ses_${i}` })));
    expect(turns.every((t) => t.ok && t.attempts === 1 && t.retries.length === 0)).toBe(true);
    expect(e.sim.stats().byCode["1302"] ?? 0).toBeGreaterThanOrEqual(1);
    expect(e.sim.stats().completed).toBe(4);
  });

  it("1113 (model not in any plan) ends at once: one final answer, no host retry", async () => {
    env = await v2Env({
      revision,
      options,
      sim: {
        accounts: [
          { id: "A", keys: ["sk-test-a"] },
          { id: "B", keys: ["sk-test-b"] },
        ],
        unavailableModels: ["glm-4.7"],
      },
      keysFile: { keys: keyEntries("A:sk-test-a", "B:sk-test-b") },
    });
    const turn = await env.turn();
    expect(turn).toMatchObject({ ok: false, attempts: 1, retries: [] });
    expect(turn.decisions[0]?.final).toEqual({ retry: false });
    expect(turn.error?.message).toMatch(/oc-zai-multi-account/);
    expect(env.sim.stats().requests).toBe(2);
    const again = await env.turn({ sessionID: "ses_2" });
    expect(again).toMatchObject({ ok: false, attempts: 1, retries: [] });
    expect(env.sim.stats().requests).toBe(2);
  });

  it("1211 (unknown model) ends at once: one upstream call, no host retry", async () => {
    env = await v2Env({
      revision,
      options,
      sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }] },
      keysFile: { keys: keyEntries("A:sk-test-a") },
    });
    const turn = await env.turn({ model: "glm-nope" });
    expect(turn).toMatchObject({ ok: false, attempts: 1, retries: [] });
    expect(env.sim.stats().requests).toBe(1);
  });

  it.each([10, 20])(
    "1308 waits until the reset (%i min away; the host alone caps a provider delay at 15 min): one host retry, at the reset",
    async (minutes) => {
      env = await v2Env({
        revision,
        options,
        sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }] },
        keysFile: { keys: keyEntries("A:sk-test-a") },
      });
      // Z.AI's reset stamps have whole seconds: a reset on a second boundary is what the plugin can know exactly.
      const resetAt = Math.ceil((env.clock.now() + minutes * 60_000) / 1000) * 1000;
      env.sim.setUsageWindow("A", { requests: 1, resetAt });
      const e = env;
      e.clock.setTimer(() => e.sim.setUsageWindow("A", null), resetAt - e.clock.now()); // the window resets (not before)
      expect((await env.turn()).ok).toBe(true);
      const before = env.clock.now();
      const turn = await env.turn({ sessionID: "ses_2" });
      expect(turn).toMatchObject({ ok: true, attempts: 2 });
      expect(turn.retries).toHaveLength(1);
      expect(Math.abs(turn.retries[0]! - (resetAt - before))).toBeLessThan(1000);
      expect(env.sim.stats().byCode["1308"]).toBe(1);
    },
  );

  it("an in-stream error is retried by the plugin before any byte reaches the host", async () => {
    env = await v2Env({
      revision,
      options,
      sim: {
        accounts: [
          { id: "A", keys: ["sk-test-a"] },
          { id: "B", keys: ["sk-test-b"] },
        ],
      },
      keysFile: { keys: keyEntries("A:sk-test-a", "B:sk-test-b") },
    });
    env.sim.inject({ kind: "sse-error", code: "1305", message: "The service may be temporarily overloaded" });
    const turn = await env.turn();
    expect(turn).toMatchObject({ ok: true, attempts: 1, retries: [] });
    expect(turn.text.length).toBeGreaterThan(0);
    expect(env.sim.stats().requests).toBe(2);
  });

  it("the key never reaches anything the host records (sent requests, failure records, errors)", async (ctx) => {
    if (transport === "host") return ctx.skip(); // by design the host sends the key there: see the next case
    const keys = ["sk-test-rec-a1", "sk-test-rec-a2", "sk-test-rec-b"];
    env = await v2Env({
      revision,
      options,
      sim: {
        accounts: [
          { id: "A", keys: keys.slice(0, 2) },
          { id: "B", keys: [keys[2]!], usageWindow: { requests: 1 } },
        ],
        revokedKeys: [keys[0]!],
        unavailableModels: ["glm-x"],
        models: ["glm-4.7", "glm-x"],
      },
      keysFile: { keys: keyEntries(`A/a1:${keys[0]}`, `A/a2:${keys[1]}`, `B/b:${keys[2]}`) },
    });
    env.sim.inject({ kind: "http-error", status: 429, code: "1302", message: `busy for ${keys[1]}` });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await env.turn({ sessionID: `ses_${i}` }));
    results.push(await env.turn({ model: "glm-x", sessionID: "ses_x" }));
    expect(env.sim.stats().authorizations.some((a) => keys.some((k) => a.includes(k)))).toBe(true);
    expect(env.host.records.failures.length).toBeGreaterThan(0);
    const everything = JSON.stringify({ records: env.host.records, results, logs: env.logs });
    for (const key of keys) expect(everything).not.toContain(key);
    expect(env.host.records.sent.every((s) => s.headers.authorization === undefined)).toBe(true);
  });

  it("who holds the key: the host's sent request carries it only with transport host", async () => {
    env = await v2Env({
      revision,
      options,
      sim: { accounts: [{ id: "A", keys: ["sk-test-who"] }] },
      keysFile: { keys: keyEntries("A:sk-test-who") },
    });
    expect((await env.turn()).ok).toBe(true);
    expect(env.host.records.sent.map((r) => r.headers.authorization)).toEqual([
      transport === "host" ? "Bearer sk-test-who" : undefined,
    ]);
  });
});

describe("robustness", () => {
  it("a hook that hits an internal error leaves the request untouched (no defect, the host's own request goes out)", async () => {
    env = await v2Env({
      sim: { accounts: [{ id: "A", keys: ["sk-test-a"] }] },
      deps: { registry: { get: () => Promise.reject(new Error("engine exploded")) } as unknown as EngineRegistry },
    });
    const turn = await env.turn();
    expect(turn.defect).toBeUndefined();
    expect(turn.error?.type).toBe("Authentication");
    expect(env.sim.stats().authorizations).toEqual([`Bearer ${PLACEHOLDER_KEY}`]);
    expect(
      env.logs.some((l) => l.level === "error" && /http\.request hook failed.*engine exploded/.test(l.message)),
    ).toBe(true);
  });

  it.each(["plugin", "host"] as const)(
    "transport %s: what http.request held is reclaimed after the TTL when http.response never runs",
    async (transport) => {
      const registry = new EngineRegistry();
      env = await v2Env({
        manualClock: true,
        options: { leaseTtlMs: 60_000, transport },
        sim: { accounts: [{ id: "A", keys: ["sk-test-a"], limits: { "glm-4.7": 1 } }] },
        keysFile: { keys: keyEntries("A:sk-test-a"), models: { "glm-4.7": { maxConcurrency: 1, adaptive: false } } },
        deps: { registry },
      });
      const first = await env.turn({ interruptAfterRequestHookOn: 1 });
      expect(first.interrupted).toBe(true);
      let done = false;
      const second = env.turn({ sessionID: "ses_2" }).finally(() => (done = true));
      await until(async () => (await waiting(registry)) === 1);
      expect(done).toBe(false); // waiting for the one slot, held for the abandoned request
      env.clock.advance(60_000);
      // The TTL reclaimed the first request's slot: handed on (waiting 0), or kept for the cancel grace first.
      await until(async () => (await waiting(registry)) === 0 || (await inGrace(registry)) > 0);
      env.clock.advance(1_000); // the core's cancel grace before a cancelled slot is reused
      expect(await second).toMatchObject({ ok: true, attempts: 1 });
      expect(env.logs.some((l) => /never (collected by|reached) http\.response/.test(l.message))).toBe(true);
    },
  );

  it.each(["plugin", "host"] as const)(
    "transport %s: a slot wait is cut at the request budget (240 s), below the host's 300 s header timeout, as a 429 to retry",
    async (transport) => {
      const registry = new EngineRegistry();
      env = await v2Env({
        manualClock: true,
        options: { leaseTtlMs: 3_600_000, transport },
        sim: { accounts: [{ id: "A", keys: ["sk-test-a"], limits: { "glm-4.7": 1 } }] },
        keysFile: { keys: keyEntries("A:sk-test-a"), models: { "glm-4.7": { maxConcurrency: 1, adaptive: false } } },
        deps: { registry },
      });
      expect((await env.turn({ interruptAfterRequestHookOn: 1 })).interrupted).toBe(true); // holds the only slot
      void env.turn({ sessionID: "ses_2" });
      await until(async () => (await waiting(registry)) === 1);
      expect(env.host.records.failures).toHaveLength(0);
      env.clock.advance(240_000);
      const { records } = env.host;
      await until(async () => records.failures.length > 0);
      const failure = env.host.records.failures[0];
      expect(failure?.response.status).toBe(429);
      expect(failure?.response.headers["x-should-retry"]).toBe("true");
      expect(failure?.body).toMatch(/queue_timeout/);
    },
  );

  it("a host without the plugin storms on raw 1113 under the older classifier (what the plugin prevents)", async () => {
    sim = await startSimulator({ accounts: [{ id: "A", keys: ["sk-test-a"] }], unavailableModels: ["glm-4.7"] });
    const host = new V2Host({ revision: "older", clock: new FakeClock() });
    const turn = await host.turn({ baseURL: sim.url, credential: "sk-test-a" });
    expect(turn.retries).toHaveLength(4);
    expect(sim.stats().requests).toBe(5);
  });
});

/** Requests waiting for a slot in the (one) engine of `registry`. */
async function waiting(registry: EngineRegistry): Promise<number> {
  const engines = await registry.all();
  return engines.reduce((n, e) => n + (e.kind === "ready" ? e.core.leases.waiting() : 0), 0);
}

/** Timers the engines' leases have running (cancel graces, wake-ups). */
async function inGrace(registry: EngineRegistry): Promise<number> {
  const engines = await registry.all();
  return engines.reduce((n, e) => n + (e.kind === "ready" ? e.core.leases.pendingTimers() : 0), 0);
}

/** Waits for `check` to hold, on events (each turn of the event loop), for at most 2 s of real time. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 2_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
