import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator, SimulatorConfig } from "../../simulator/types.js";
import {
  createZaiFetch,
  keysFileSchema,
  Notifier,
  Redactor,
  type ApiKey,
  type KeysFileInput,
  type ZaiFetch,
} from "../../src/lib.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { recordingSink } from "../helpers/sink.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const KEYS: ApiKey[] = [
  { id: "a1", label: "a1", apiKey: "sk-test-a1", account: "a", provider: "zai-coding-plan", source: "file" },
  { id: "a2", label: "a2", apiKey: "sk-test-a2", account: "a", provider: "zai-coding-plan", source: "file" },
  { id: "b1", label: "b1", apiKey: "sk-test-b1", account: "b", provider: "zai-coding-plan", source: "file" },
];
const SIM: SimulatorConfig = {
  accounts: [
    { id: "a", keys: ["sk-test-a1", "sk-test-a2"], usageWindow: { requests: 100 } },
    { id: "b", keys: ["sk-test-b1"], usageWindow: { requests: 100 } },
  ],
};

async function rig(options: { settings?: Omit<KeysFileInput, "keys">; quotaFetch?: typeof fetch } = {}) {
  sim = await startSimulator(SIM);
  const clock = new FakeClock(Date.now());
  const { sink, toasts, logs } = recordingSink();
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse(options.settings ?? {});
  const notifier = new Notifier({ clock, sink, redactor: new Redactor(), toasts: true, intervalMs: 0 });
  const zai: ZaiFetch = createZaiFetch({
    keys: KEYS,
    settings,
    clock,
    random: () => 0.5,
    fetch: globalThis.fetch,
    quotaFetch: options.quotaFetch ?? globalThis.fetch,
    notifier,
  });
  const s = sim;
  const chat = async (session?: string, content = "hi") => {
    const response = await zai(`${s.url}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(session ? { "x-session-affinity": session, "x-session-id": session } : {}),
      },
      body: JSON.stringify({ model: "glm-4.7", messages: [{ role: "user", content }], stream: true }),
    });
    await response.text();
    return { status: response.status, account: response.headers.get("x-sim-account") };
  };
  return { sim: s, clock, zai, chat, toasts, logs };
}

describe("quota-aware routing against the simulator", () => {
  it("a hanging quota endpoint does not delay or fail a completion", async () => {
    let quotaCalls = 0;
    const hanging = (() => {
      quotaCalls++;
      return new Promise<Response>(() => {});
    }) as typeof fetch;
    const { chat, zai } = await rig({ quotaFetch: hanging });
    for (let i = 0; i < 4; i++) expect((await chat()).status).toBe(200);
    expect(quotaCalls).toBe(2);
    expect(zai.foresight.poller.reading("a")).toBeUndefined();
  });

  it("an HTML or failing quota endpoint is ignored with a debug line", async () => {
    const html = (async () => new Response("<html>502 Bad Gateway</html>", { status: 502 })) as typeof fetch;
    const { chat, zai, logs } = await rig({ quotaFetch: html });
    expect((await chat()).status).toBe(200);
    await zai.foresight.poller.poll("a");
    expect(logs.filter((l) => l.level === "debug" && l.message.includes("HTML")).length).toBeGreaterThan(0);
  });

  it("sends new requests to the other account once one is past the threshold", async () => {
    const { sim, chat, zai } = await rig();
    sim.setQuota({ account: "a", fiveHourPercent: 96 });
    sim.setQuota({ account: "b", fiveHourPercent: 10 });
    await chat();
    await Promise.all([zai.foresight.poller.poll("a"), zai.foresight.poller.poll("b")]);
    const accounts = [];
    for (let i = 0; i < 6; i++) accounts.push((await chat()).account);
    expect(accounts).toEqual(["b", "b", "b", "b", "b", "b"]);
  });

  it("when every account is past the threshold, uses the one with the most left and says so once", async () => {
    const { sim, chat, zai, toasts } = await rig();
    sim.setQuota({ account: "a", fiveHourPercent: 99 });
    sim.setQuota({ account: "b", fiveHourPercent: 96 });
    await chat();
    await Promise.all([zai.foresight.poller.poll("a"), zai.foresight.poller.poll("b")]);
    expect([(await chat()).account, (await chat()).account]).toEqual(["b", "b"]);
    expect(toasts.filter((t) => t.message.includes("Every account is past 95%"))).toHaveLength(1);
  });

  it("cools an account whose weekly window is at 100% until its weekly reset", async () => {
    const { sim, chat, zai, toasts } = await rig();
    sim.setQuota({ account: "a", weeklyPercent: 100 });
    await chat();
    await zai.foresight.poller.poll("a");
    const cooling = zai.pool.state.accountCooldowns.get("a");
    expect(cooling?.code).toBe("1310");
    expect(cooling?.reason).toBe("weekly/monthly limit spent (quota endpoint: 100%)");
    expect(toasts.some((t) => t.message.includes('Account "a" used up its weekly/monthly limit'))).toBe(true);
    expect([(await chat()).account, (await chat()).account]).toEqual(["b", "b"]);
  });

  it("does not read quotas when quota.enabled is false", async () => {
    const { chat, sim } = await rig({ settings: { quota: { enabled: false } } });
    await chat();
    expect(Object.values(sim.quota()).reduce((n, q) => n + q.reads, 0)).toBe(0);
  });
});

describe("session stickiness against the simulator", () => {
  it("keeps each session on the account and key of its previous turn; without session headers it rotates", async () => {
    const { chat, sim } = await rig({ settings: { quota: { enabled: false } } });
    const s1 = [];
    const s2 = [];
    for (let i = 0; i < 3; i++) {
      s1.push((await chat("ses_one")).account);
      s2.push((await chat("ses_two")).account);
    }
    expect(new Set(s1).size).toBe(1);
    expect(new Set(s2).size).toBe(1);
    expect(s1[0]).not.toBe(s2[0]);
    const keysOfA = Object.entries(sim.stats().byKey).filter(([k]) => k.startsWith("sk-test-a"));
    expect(keysOfA).toHaveLength(1);
    const plain = [(await chat()).account, (await chat()).account];
    expect(new Set(plain).size).toBe(2);
  });
});
