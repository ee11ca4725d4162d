import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { attachStateSync, nodeStateFs, systemClock } from "../../src/lib.js";
import { withLock } from "../../src/state/lock.js";
import { makeProcess, tempStatePath } from "./helpers.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const HOUR = 3_600_000;

async function unavailableModels(path: string): Promise<string[]> {
  const file = JSON.parse(await readFile(path, "utf8")) as {
    providers: Record<string, { unavailable: Record<string, Record<string, unknown>> }>;
  };
  return Object.values(file.providers["zai-coding-plan"]?.unavailable ?? {}).flatMap((models) => Object.keys(models));
}

describe("concurrent writers", () => {
  it("the lock serialises read-modify-write cycles", async () => {
    const path = await tempStatePath();
    const counter = join(dirname(dirname(path)), "counter");
    await writeFile(counter, "0");
    await Promise.all(
      Array.from({ length: 40 }, () =>
        withLock(
          nodeStateFs,
          `${counter}.lock`,
          systemClock,
          async () => {
            const n = Number(await readFile(counter, "utf8"));
            await new Promise((r) => setImmediate(r));
            await writeFile(counter, String(n + 1));
          },
          { timeoutMs: 10_000 },
        ),
      ),
    );
    expect(await readFile(counter, "utf8")).toBe("40");
  });

  it("short-lived state syncs in one process, writing at once, never lose each other's updates", async () => {
    const path = await tempStatePath();
    const warnings: string[] = [];
    /** One short-lived "process": load, learn one thing, write, exit. */
    const visit = async (account: string, model: string) => {
      const proc = makeProcess();
      const sync = await attachStateSync({
        provider: "zai-coding-plan",
        ...proc,
        clock: systemClock,
        path,
        onWarning: (m) => warnings.push(m),
      });
      proc.pool.markUnavailable(account, model, "1113", false, Date.now() + HOUR);
      await sync.close();
    };
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      await Promise.all([visit("personal", `a-${i}`), visit("work", `b-${i}`), visit("work", `c-${i}`)]);
    }
    expect((await unavailableModels(path)).length).toBe(3 * rounds);
    expect(warnings).toEqual([]);
  });

  it("two processes syncing at once never lose each other's updates", async () => {
    const path = await tempStatePath();
    const writer = join(here, "fixtures", "writer.ts");
    const count = 25;
    const spawn = (name: string) =>
      run(process.execPath, ["--import", "tsx", writer, path, name, String(count)], { cwd: root });
    const results = await Promise.all([spawn("p1"), spawn("p2")]);
    for (const { stdout } of results) expect(JSON.parse(stdout)).toMatchObject({ warnings: [] });
    const models = await unavailableModels(path);
    expect(models.length).toBe(2 * count);
    expect(new Set(models).size).toBe(2 * count);
  }, 60_000);
});
