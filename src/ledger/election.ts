import { createConnection, createServer, type Server, type Socket } from "node:net";
import { statSync, unlinkSync } from "node:fs";
import { mkdir, rmdir, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { LedgerAddress } from "./socket-address.js";

/**
 * `inode`: the socket file bound (file addresses), to notice when another process replaced it. `server` holds the
 * connections that arrive before the coordinator is set up: `accept` hands them over, and every later one.
 */
export type Elected =
  | { role: "coordinator"; server: ListeningServer; inode: number | undefined }
  | { role: "client"; socket: Socket };

export interface ListeningServer {
  readonly server: Server;
  /** Hands every connection, including those that arrived since listening, to `handler`. */
  accept(handler: (socket: Socket) => void): void;
  /** Closes the server and any connection nobody accepted yet. */
  close(): void;
}

/** Why no coordinator could be bound or reached (read-only state directory, no socket support, ...). */
export class ElectionError extends Error {
  override readonly name = "ElectionError";
}

/**
 * Connects to the coordinator, or becomes it. Socket files (the default): whoever finds no coordinator answering
 * takes the election lock, checks once more, removes the file left by a coordinator that is gone, and binds; the
 * others wait for it and connect. Without the lock, two processes that judged one stale file at once could both
 * remove-and-bind (the second removing the first one's fresh file): two coordinators granting the same slots, as
 * seen with six OpenCode processes starting on a loaded machine. Abstract addresses (tests) have no file: binding is
 * the election. Gives up with an ElectionError after `budgetMs` (the caller falls back to per-process slots).
 */
export async function elect(
  address: LedgerAddress,
  budgetMs = ELECTION_BUDGET_MS,
  pause: (attempt: number) => Promise<void> = defaultPause,
  /** The coordinator stopped answering: a coordinator reached must answer a ping, or its file is replaced. */
  suspect = false,
): Promise<Elected> {
  if (address.isFile) await mkdir(dirname(address.path), { recursive: true, mode: 0o700 }).catch(() => {});
  const deadline = Date.now() + budgetMs;
  let last = "";
  for (let attempt = 0; attempt === 0 || Date.now() < deadline; attempt++) {
    const tried = address.isFile ? await electOnFile(address.path, suspect) : await electAbstract(address.path);
    if (typeof tried !== "string") return tried;
    last = tried;
    await pause(attempt);
  }
  throw new ElectionError(`no ledger coordinator after ${Math.round(budgetMs / 1000)} s (${last})`);
}

/** How long a process tries to reach or become the coordinator before counting slots per process. */
export const ELECTION_BUDGET_MS = 20_000;
/** An election lock older than this was left by a process that died while holding it (holding takes milliseconds). */
export const STALE_LOCK_MS = 10_000;

/** How long an election waits for a suspected coordinator to answer a ping (twice: before and under the lock). */
export const PROBE_MS = 250;

/**
 * One attempt on a socket file: elected, or why not yet. `suspect`: a coordinator that accepts the connection but
 * does not answer a ping (stopped, frozen) counts as gone: under the lock its file is replaced. It learns so itself
 * when it runs again (see CoordinatorSeat).
 */
async function electOnFile(path: string, suspect: boolean): Promise<Elected | string> {
  const first = await reach(path, suspect);
  if (typeof first !== "string") return first;
  const lock = `${path}.lock`;
  if (!(await takeLock(lock))) return `${first}, election lock held`;
  try {
    // Someone may have become the coordinator between our connect and our lock (or the silent one woke up).
    const again = await reach(path, suspect);
    if (typeof again !== "string") return again;
    const file = await fileKind(path);
    if (file === "other") throw new ElectionError(`${path} exists and is not a socket: remove it`);
    // Nobody answers on it and nobody else may touch it while we hold the lock: left by a process that is gone.
    if (file === "socket") await unlink(path).catch(() => {});
    const server = await listen(path).catch((error: unknown) => {
      throw new ElectionError(`cannot bind the ledger socket: ${describe(error)}`, { cause: error });
    });
    return { role: "coordinator", server, inode: await socketInode(path) };
  } finally {
    await rmdir(lock).catch(() => {});
  }
}

async function electAbstract(path: string): Promise<Elected | string> {
  try {
    return { role: "coordinator", server: await listen(path), inode: undefined };
  } catch (error) {
    if (codeOf(error) !== "EADDRINUSE")
      throw new ElectionError(`cannot bind the ledger socket: ${describe(error)}`, { cause: error });
  }
  return tryConnect(path);
}

/** A client socket; when `suspect`, only if the coordinator answers a ping; else why not. */
async function reach(path: string, suspect: boolean): Promise<Elected | string> {
  const reached = await tryConnect(path);
  if (typeof reached === "string" || !suspect) return reached;
  return (await answers(reached.socket)) ? tryConnect(path) : "the coordinator does not answer";
}

/** A client socket, or why the connect failed when it may succeed later (nobody listening yet). */
async function tryConnect(path: string): Promise<{ role: "client"; socket: Socket } | string> {
  try {
    return { role: "client", socket: await connect(path) };
  } catch (error) {
    const code = codeOf(error);
    // Node and Bun 1.4 say ECONNREFUSED for a file nobody listens on; Bun 1.3 (inside OpenCode 1.18) says ENOENT.
    if (code !== "ECONNREFUSED" && code !== "ENOENT")
      throw new ElectionError(`cannot reach the ledger socket: ${describe(error)}`, { cause: error });
    return describe(error);
  }
}

/**
 * Whether the coordinator on `socket` answers a ping within PROBE_MS. The socket is used up either way (the caller
 * connects again). The verdict waits one turn of the event loop after the timer, so that an answer that arrived
 * while this process itself was not running is read first (timers run before I/O after a pause).
 */
function answers(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    let heard = false;
    let settled = false;
    const done = (alive: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(alive);
    };
    socket.on("data", () => {
      heard = true;
      done(true);
    });
    socket.once("close", () => done(heard));
    socket.on("error", () => done(heard));
    const timer = setTimeout(() => setImmediate(() => done(heard)), PROBE_MS);
    socket.write(`${JSON.stringify({ t: "ping" })}\n`);
  });
}

/**
 * A coordinator that found itself suspended steps down: under the election lock, it removes its socket file if the
 * file is still its own (a successor may have replaced it meanwhile), so that the election that follows finds no
 * coordinator that never answers. Its server is not closed: closing unlinks the path, which may be a successor's.
 */
export async function resign(path: string, inode: number, budgetMs = 5_000): Promise<void> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if ((await socketInode(path)) !== inode) return;
    if (await takeLock(lock).catch(() => false)) {
      removeOwnSocket(path, inode);
      await rmdir(lock).catch(() => {});
      return;
    }
    await defaultPause(attempt);
  }
  removeOwnSocket(path, inode);
}

/** mkdir is atomic: the one that creates the directory holds the lock. A lock left by a dead process is broken. */
async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock, { mode: 0o700 });
    return true;
  } catch (error) {
    if (codeOf(error) !== "EEXIST")
      throw new ElectionError(`cannot take the ledger's election lock ${lock}: ${describe(error)}`, { cause: error });
  }
  const age = await stat(lock).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  if (age > STALE_LOCK_MS) await rmdir(lock).catch(() => {});
  return false;
}

async function fileKind(path: string): Promise<"socket" | "other" | "none"> {
  return stat(path).then(
    (s) => (s.isSocket() ? "socket" : "other"),
    () => "none",
  );
}

/**
 * Removes the socket file if it is still the one this coordinator bound (synchronous: runs in an `exit` handler).
 * A process that exits without closing its server leaves the file behind (Bun does), and the next process would
 * have to take the lock to remove it. Safe without the lock: while this process still runs, its socket answers, so
 * nobody judges the file stale.
 */
export function removeOwnSocket(path: string, inode: number): void {
  try {
    if (statSync(path).ino === inode) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/** The inode of the socket file, or undefined when it is gone. */
export async function socketInode(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.ino,
    () => undefined,
  );
}

/**
 * Listens, and keeps what connects from that moment on: a process re-electing can connect while this one is still
 * setting itself up (an `await` later). A 'connection' nobody listens to would leave that process waiting forever
 * (seen under load: its grant never came, its coordinator never heard its hello).
 */
function listen(path: string): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const early: Socket[] = [];
    let handler: ((socket: Socket) => void) | undefined;
    server.on("connection", (socket) => (handler ? handler(socket) : early.push(socket)));
    server.once("error", reject);
    server.listen({ path, exclusive: true }, () => {
      server.off("error", reject);
      server.unref();
      resolve({
        server,
        accept: (next) => {
          handler = next;
          for (const socket of early.splice(0)) next(socket);
        },
        close: () => {
          server.close();
          for (const socket of early.splice(0)) socket.destroy();
        },
      });
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
