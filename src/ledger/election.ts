import { createConnection, createServer, type Server, type Socket } from "node:net";
import { mkdir, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { LedgerAddress } from "./socket-address.js";

/** `inode`: the socket file bound (file addresses), to notice when another process replaced it. */
export type Elected = { role: "coordinator"; server: Server; inode: number | undefined } | { role: "client"; socket: Socket };

/** Why no coordinator could be bound or reached (read-only state directory, no socket support, ...). */
export class ElectionError extends Error {
  override readonly name = "ElectionError";
}

/**
 * Binds the coordinator socket, or connects to the process that did. Whoever binds first coordinates; the rest
 * connect. Between a coordinator's death and a successor's bind, a connect is refused: try again shortly.
 */
export async function elect(address: LedgerAddress, attempts = 120, pause: (attempt: number) => Promise<void> = defaultPause): Promise<Elected> {
  if (address.isFile) await mkdir(dirname(address.path), { recursive: true, mode: 0o700 }).catch(() => {});
  let last = "";
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const server = await listen(address.path);
      return { role: "coordinator", server, inode: address.isFile ? await socketInode(address.path) : undefined };
    } catch (error) {
      if (codeOf(error) !== "EADDRINUSE") throw new ElectionError(`cannot bind the ledger socket: ${describe(error)}`, { cause: error });
    }
    try {
      return { role: "client", socket: await connect(address.path) };
    } catch (error) {
      const code = codeOf(error);
      last = describe(error);
      if (code !== "ECONNREFUSED" && code !== "ENOENT") throw new ElectionError(`cannot reach the ledger socket: ${last}`, { cause: error });
      // A socket file nobody listens on is left over from a crash. But a file that was just made may belong to a
      // process between its bind and its listen, or to a successor that replaced a stale file a moment ago:
      // removing that one would elect two coordinators at once (both granting: 1302s). Only old files go.
      if (address.isFile && code === "ECONNREFUSED" && (await ageOf(address.path)) > FRESH_SOCKET_MS) await unlink(address.path).catch(() => {});
    }
    await pause(attempt);
  }
  throw new ElectionError(`no ledger coordinator after ${attempts} attempts (${last})`);
}

/** A socket file younger than this is never judged stale (see elect). */
const FRESH_SOCKET_MS = 1_000;

async function ageOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
}

/** The inode of the socket file, or undefined when it is gone. */
export async function socketInode(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.ino,
    () => undefined,
  );
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ path, exclusive: true }, () => {
      server.off("error", reject);
      server.unref();
      resolve(server);
    });
  });
}

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.setNoDelay?.(true);
      resolve(socket);
    });
  });
}

function defaultPause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * Math.min(50, 5 * (attempt + 1))));
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function describe(error: unknown): string {
  return codeOf(error) ?? (error instanceof Error ? error.message : String(error));
}
