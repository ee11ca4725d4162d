import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nodeConfigIO } from "../../src/config/node-io.js";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { normalizeRequest } from "../../src/fetch/request.js";
import { systemClock, type Clock } from "../../src/util/clock.js";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { until } from "./helpers.js";
import { ready } from "../helpers/ready.js";

/**
 * Two engines on one machine (one HOME: one state file, one machine ledger). What one writes to the state file (a
 * 1308 window) the other reads at once, told over the ledger, not at its next 2 s round: its clock is fake and
 * never reaches that round.
 */
describe("state-file changes announced over the machine ledger", () => {
  let sim: Simulator | undefined;
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await sim?.close();
  });

  async function engineIn(home: string, clock: Clock): Promise<Engine> {
    const keysFile = join(home, "zai-keys.json");
    const io = nodeConfigIO({ HOME: home, ZAI_KEYS_FILE: keysFile, ZAI_STATE_FILE: join(home, "state", "state.json") });
    const engine = await createEngine(
      "zai-coding-plan",
      { clock, random: () => 0.5, fetch: globalThis.fetch, io, sink: { log: () => {}, toast: () => {} } },
      undefined,
    );
    engines.push(engine);
    return engine;
  }

  it("a 1308 learned by one process reaches the other without waiting for its next sync", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-announce-a1"], limits: { "glm-4.7": 2 } },
        { id: "beta", keys: ["sk-announce-b1"], limits: { "glm-4.7": 2 } },
      ],
    });
    const home = await mkdtemp(join(tmpdir(), "zai-announce-"));
    const keys = [
      { id: "a1", apiKey: "sk-announce-a1", account: "alpha" },
      { id: "b1", apiKey: "sk-announce-b1", account: "beta" },
    ];
    await writeFile(join(home, "zai-keys.json"), JSON.stringify({ keys }), { mode: 0o600 });
    const one = await engineIn(home, systemClock);
    const two = await engineIn(home, new FakeClock(Date.now()));
    expect(ready(two).core.leases.ledgerKind).toBe("machine");
    sim.setUsageWindow("alpha", { requests: 0, resetAt: Date.now() + 3_600_000 });
    const init = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "glm-4.7", messages: [{ role: "user", content: "hi" }], stream: false }),
    };
    const response = await ready(one).lifecycle.run(await normalizeRequest(`${sim.url}/chat/completions`, init));
    await response.text();
    expect(response.status).toBe(200); // alpha answered 1308, beta served
    await until(() => ready(two).core.pool.state.accountCooldowns.has("alpha"));
  });
});
