import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { nodeConfigIO } from "../../src/config/node-io.js";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { normalizeRequest } from "../../src/fetch/request.js";
import { quotaFilePath, writeQuotaReading } from "../../src/quota/quota-file.js";
import { nodeStateFs } from "../../src/state/state-fs.js";
import { systemClock } from "../../src/util/clock.js";
import { ready } from "../helpers/ready.js";

/**
 * Every `opencode run` is a fresh process: its first request is placed before its own first quota reading answers.
 * Readings other processes wrote beside the state file lately are what it routes with until then.
 */
describe("a fresh process routes its first request with the quota readings other processes took", () => {
  let sim: Simulator | undefined;
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await sim?.close();
  });

  /** An engine in its own HOME; its quota reads never answer (only what it was seeded with can route). */
  async function engineIn(home: string): Promise<Engine> {
    const keysFile = join(home, "zai-keys.json");
    const keys = [
      { id: "a1", apiKey: "sk-seed-a1", account: "alpha" },
      { id: "b1", apiKey: "sk-seed-b1", account: "beta" },
    ];
    await writeFile(keysFile, JSON.stringify({ keys }), { mode: 0o600 });
    const io = nodeConfigIO({
      HOME: home,
      ZAI_KEYS_FILE: keysFile,
      ZAI_STATE_FILE: join(home, "state", "state.json"),
      ZAI_LEDGER: "local",
    });
    const fetch = ((input: string | URL | Request, init?: RequestInit) =>
      String(input instanceof Request ? input.url : input).includes("/monitor/usage/quota")
        ? new Promise<Response>(() => {})
        : globalThis.fetch(input, init)) as typeof globalThis.fetch;
    const engine = await createEngine(
      "zai-coding-plan",
      { clock: systemClock, random: () => 0, fetch, io, sink: { log: () => {}, toast: () => {} } },
      undefined,
    );
    engines.push(engine);
    return engine;
  }

  async function firstAccount(engine: Engine): Promise<string | null> {
    const init = {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "glm-4.7", messages: [{ role: "user", content: "hi" }], stream: false }),
    };
    const response = await ready(engine).lifecycle.run(await normalizeRequest(`${sim!.url}/chat/completions`, init));
    await response.text();
    return response.headers.get("x-sim-account");
  }

  it("an account another process read past the threshold a minute ago is not the first one used", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "alpha", keys: ["sk-seed-a1"] },
        { id: "beta", keys: ["sk-seed-b1"] },
      ],
    });
    const control = await mkdtemp(join(tmpdir(), "zai-seed-"));
    expect(await firstAccount(await engineIn(control))).toBe("alpha"); // round-robin starts at the first account

    const home = await mkdtemp(join(tmpdir(), "zai-seed-"));
    const reading = {
      at: Date.now() - 60_000,
      fiveHour: { type: "TOKENS_LIMIT", percentage: 97, resetAt: Date.now() + 3_600_000 },
    };
    await writeQuotaReading(
      nodeStateFs,
      quotaFilePath(join(home, "state", "state.json")),
      "zai-coding-plan",
      "alpha",
      reading,
      1,
    );
    expect(await firstAccount(await engineIn(home))).toBe("beta");
  });
});
