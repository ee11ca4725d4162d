import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseLedger, createLedger } from "../../src/ledger/create.js";
import { inspectLedger, ledgerCheck, renderLedger } from "../../src/ledger/inspect.js";
import { systemClock } from "../../src/util/clock.js";
import { request } from "./helpers.js";

describe("inspectLedger (status and doctor)", () => {
  it("reads slots in flight, holders and the queue from the running coordinator; idle when none runs", async () => {
    const home = await mkdtemp(join(tmpdir(), "oc-zai-inspect-"));
    const statePath = join(home, "state", "zai-multi-account-state.json");
    const options = { env: {}, homedir: home, statePath, provider: "zai-coding-plan", redisFromFile: undefined };
    const idle = await inspectLedger(options);
    expect(idle).toMatchObject({ kind: "machine", state: "idle" });
    expect(ledgerCheck(idle).level).toBe("ok");

    const ledger = await createLedger(chooseLedger({}, home, statePath, "zai-coding-plan", undefined), {
      clock: systemClock,
      onWarning: () => {},
    });
    try {
      const held = await ledger.acquire(request(["acct-a"], 1), (g) => g);
      void ledger.acquire(request(["acct-a"], 1), (g) => g).catch(() => {});
      const view = await inspectLedger(options);
      expect(view).toMatchObject({
        kind: "machine",
        state: "ok",
        pairs: [{ account: "acct-a", model: "m", inFlight: 1, queued: 1, holders: [{ pid: process.pid }] }],
      });
      expect(renderLedger(view).join("\n")).toContain(`acct-a/m: 1 in flight (`);
      held.release();
    } finally {
      await ledger.close();
    }
  });

  it("ZAI_LEDGER=local is reported as per-process; an unreachable Redis is a warning with a fix", async () => {
    const local = await inspectLedger({
      env: { ZAI_LEDGER: "local" },
      homedir: "/nowhere",
      statePath: undefined,
      provider: "zai-coding-plan",
      redisFromFile: undefined,
    });
    expect(local.kind).toBe("local");
    const redis = await inspectLedger({
      env: { ZAI_REDIS_URL: "redis://:secret-pass@127.0.0.1:1" },
      homedir: "/nowhere",
      statePath: undefined,
      provider: "zai-coding-plan",
      redisFromFile: undefined,
      timeoutMs: 300,
    });
    expect(redis).toMatchObject({ kind: "redis", state: "unreachable" });
    expect(redis.where).not.toContain("secret-pass");
    expect(ledgerCheck(redis)).toMatchObject({ level: "warn", fix: expect.stringContaining("ZAI_REDIS_URL") });
  });
});
