import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { systemClock } from "../../src/util/clock.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts test/ledger/child.ts in its own node process; `lines` collects what it prints. */
function child(name: string, ...args: string[]) {
  const proc = spawn(process.execPath, ["--import", "tsx", "test/ledger/child.ts", name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(proc);
  const lines: string[] = [];
  let buffer = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
  });
  let stderr = "";
  proc.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const waitFor = async (prefix: string, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.find((l) => l.startsWith(prefix));
      if (line) return line;
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`child never printed "${prefix}" (stderr: ${stderr.slice(0, 500)})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { proc, lines, waitFor };
}

describe("machine ledger across real processes", () => {
  it("a holder killed with SIGKILL gets its slots back within 10 s", async () => {
    const name = join(tmpdir(), `oc-zai-ledger-test-${randomUUID()}.sock`);
    const ledger = await SharedLedger.machine({ address: { path: name, isFile: true }, clock: systemClock, onWarning: () => {} });
    try {
      expect(ledger.role).toBe("coordinator");
      const holder = child(name, "hold", "2");
      expect(await holder.waitFor("held")).toBe("held client");
      expect(ledger.inFlight("A", "m")).toBe(2);
      const waiting = ledger.acquire({ model: "m", seq: 0, candidates: () => ["A"], cap: () => 2, timeoutMs: 10_000 }, (g) => g);
      const killedAt = Date.now();
      holder.proc.kill("SIGKILL");
      const grant = await waiting;
      const reclaimMs = Date.now() - killedAt;
      expect(grant.account).toBe("A");
      expect(reclaimMs).toBeLessThan(10_000);
      expect(ledger.inFlight("A", "m")).toBe(1);
    } finally {
      await ledger.close();
    }
  });

  it("killing the coordinator mid-run loses no request: holders and waiters re-register with a successor", async () => {
    const name = join(tmpdir(), `oc-zai-ledger-test-${randomUUID()}.sock`);
    const coordinator = child(name, "hold", "1");
    expect(await coordinator.waitFor("held")).toBe("held coordinator");
    const workers = [child(name, "work", "40", "15", "1"), child(name, "work", "40", "15", "1")];
    for (const w of workers) expect(await w.waitFor("ready")).toBe("ready client");
    await new Promise((r) => setTimeout(r, 150));
    coordinator.proc.kill("SIGKILL");
    for (const w of workers) expect(await w.waitFor("done", 30_000)).toBe("done 40");
  });
});
