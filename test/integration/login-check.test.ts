import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../simulator/server.js";
import type { Simulator } from "../../simulator/types.js";
import { nodeConfigIO } from "../../src/config/node-io.js";
import { createEngine, type Engine } from "../../src/engine/engine.js";
import { LOGIN_CHECK_FILE_NAME } from "../../src/quota/login-check-file.js";
import { systemClock } from "../../src/util/clock.js";
import { fingerprint } from "../../src/util/redact.js";

const GOOD = "sk-test-check-good";
const REVOKED = "sk-test-check-revoked";
const login = { key: `${GOOD}, ${REVOKED}`, metadata: { accounts: "each" } };

/** The first start after `opencode providers login` checks every stored key once through the simulator's quota endpoint. */
describe("key check after a login", () => {
  let sim: Simulator | undefined;
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await sim?.close();
  });

  async function start(
    home: string,
    toasts: string[],
    fetch: typeof globalThis.fetch = globalThis.fetch,
  ): Promise<Engine> {
    const io = nodeConfigIO({ HOME: home, ZAI_STATE_FILE: join(home, "state", "state.json"), ZAI_LEDGER: "local" });
    const sink = { log: () => {}, toast: (t: { message: string }) => void toasts.push(t.message) };
    const engine = await createEngine(
      "zai-coding-plan",
      { clock: systemClock, random: () => 0, fetch, io, sink },
      login,
    );
    engines.push(engine);
    return engine;
  }

  it("one toast with each key's plan and use, the refused key by position and fingerprint; once per login", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "a", keys: [GOOD] },
        { id: "r", keys: [REVOKED] },
      ],
      revokedKeys: [REVOKED],
    });
    const home = await mkdtemp(join(tmpdir(), "zai-check-"));
    const toasts: string[] = [];
    await (await start(home, toasts)).checkLogin(`${sim.url}/chat/completions`);
    expect(toasts).toEqual([
      `1 of 2 key(s) refused: key 1 (login-1): plan pro, 5-hour 0%, weekly 0%; key 2 (login-2, fp ${fingerprint(REVOKED)}): refused by Z.AI (401)`,
    ]);
    const record = await readFile(join(home, "state", LOGIN_CHECK_FILE_NAME), "utf8");
    expect(record).not.toContain(GOOD);
    expect(record).not.toContain(REVOKED);
    expect(sim.stats().requests).toBe(0);

    const again: string[] = [];
    await (await start(home, again)).checkLogin(`${sim.url}/chat/completions`);
    expect(again).toEqual([]);
  });

  it("offline: 'could not check', a warning, and the next start checks again", async () => {
    sim = await startSimulator({
      accounts: [
        { id: "a", keys: [GOOD] },
        { id: "r", keys: [REVOKED] },
      ],
    });
    const home = await mkdtemp(join(tmpdir(), "zai-check-"));
    const offline = (async () => {
      throw new TypeError("fetch failed");
    }) as typeof globalThis.fetch;
    const first: string[] = [];
    await (await start(home, first, offline)).checkLogin(`${sim.url}/chat/completions`);
    expect(first).toHaveLength(1);
    expect(first[0]).toContain("could not check");
    expect(first[0]).toContain("0 of 2 key(s) checked");
    const second: string[] = [];
    await (await start(home, second)).checkLogin(`${sim.url}/chat/completions`);
    expect(second).toEqual([
      "2 key(s) checked: key 1 (login-1): plan pro, 5-hour 0%, weekly 0%; key 2 (login-2): plan pro, 5-hour 0%, weekly 0%",
    ]);
  });
});
