import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { elect, ElectionError, removeOwnSocket, STALE_LOCK_MS, type Elected } from "../../src/ledger/election.js";
import { testAddress, until } from "./helpers.js";

const opened: Array<Server | Socket> = [];
afterEach(() => {
  for (const handle of opened.splice(0)) "destroy" in handle ? handle.destroy() : handle.close();
});
function keep(elected: Elected): Elected {
  opened.push(elected.role === "coordinator" ? elected.server.server : elected.socket);
  return elected;
}

/** A socket file whose process is gone, as a crash or a Bun exit leaves it: bound by a child that exits at once. */
function staleSocket(path: string, ageMs = 5_000): void {
  execFileSync(process.execPath, [
    "-e",
    `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
  ]);
  const past = new Date(Date.now() - ageMs);
  utimesSync(path, past, past);
}

const fastPause = () => new Promise<void>((r) => setTimeout(r, 1));

describe("ledger election on a socket file", () => {
  it("replaces a socket file left by a process that is gone", async () => {
    const { path } = testAddress();
    staleSocket(path);
    const elected = keep(await elect({ path, isFile: true }, 5_000, fastPause));
    expect(elected.role).toBe("coordinator");
    expect(statSync(path).isSocket()).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("six processes finding one stale file at once elect exactly one coordinator, and the others reach it", async () => {
    // Without the election lock, two of them could judge the old file stale, the first remove it and bind, the second
    // remove the first one's fresh file and bind too: two coordinators granting the same slots.
    for (let round = 0; round < 10; round++) {
      const { path } = testAddress();
      staleSocket(path);
      const all = (
        await Promise.all(Array.from({ length: 6 }, () => elect({ path, isFile: true }, 5_000, fastPause)))
      ).map(keep);
      const coordinators = all.filter((e) => e.role === "coordinator");
      expect(coordinators).toHaveLength(1);
      const server = (coordinators[0] as Extract<Elected, { role: "coordinator" }>).server.server;
      const connections = () =>
        new Promise<number>((resolve, reject) =>
          server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
        );
      await until(async () => (await connections()) === 5);
      expect(statSync(path).ino).toBe((coordinators[0] as Extract<Elected, { role: "coordinator" }>).inode);
    }
  });

  it("a process that connects while the new coordinator is still setting up is handed over, not lost", async () => {
    const address = testAddress();
    const coordinator = keep(await elect(address, 5_000, fastPause));
    if (coordinator.role !== "coordinator") throw new Error("expected the coordinator");
    const client = keep(await elect(address, 5_000, fastPause)); // connects before anyone accepts
    expect(client.role).toBe("client");
    const accepted: unknown[] = [];
    await new Promise((r) => setTimeout(r, 20));
    coordinator.server.accept((socket) => accepted.push(socket));
    expect(accepted).toHaveLength(1);
  });

  it("waits while another process holds the election lock, and breaks a lock left by a dead one", async () => {
    const { path } = testAddress();
    staleSocket(path);
    mkdirSync(`${path}.lock`);
    // A fresh lock is someone electing right now: not touched, and nobody else binds meanwhile.
    await expect(elect({ path, isFile: true }, 50, fastPause)).rejects.toThrow(/election lock held/);
    expect(existsSync(`${path}.lock`)).toBe(true);
    const past = new Date(Date.now() - STALE_LOCK_MS - 1_000);
    utimesSync(`${path}.lock`, past, past);
    expect(keep(await elect({ path, isFile: true }, 5_000, fastPause)).role).toBe("coordinator");
  });

  it("refuses to remove a file at the address that is not a socket, and says so", async () => {
    const { path } = testAddress();
    writeFileSync(path, "not a socket");
    const error = await elect({ path, isFile: true }, 5_000, fastPause).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElectionError);
    expect(String(error)).toContain(`${path} exists and is not a socket`);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("an exiting coordinator removes its own socket file, never a successor's", async () => {
    const { path } = testAddress();
    staleSocket(path);
    const inode = statSync(path).ino;
    removeOwnSocket(path, inode + 1);
    expect(existsSync(path)).toBe(true);
    removeOwnSocket(path, inode);
    expect(existsSync(path)).toBe(false);
  });
});
