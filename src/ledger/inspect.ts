import { access, constants } from "node:fs/promises";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { Redis } from "ioredis";
import { chooseLedger } from "./create.js";
import type { LedgerKind, PairStatus } from "./ledger.js";
import { readMessages, send, type ServerMessage } from "./protocol.js";
import { redactUrl } from "../util/redact-url.js";
import { redisPairs } from "./redis-ledger.js";

/** What `status` and `doctor` show about the slot ledger, read from outside any OpenCode process. */
export interface LedgerView {
  kind: LedgerKind;
  /** Where: the socket file or the Redis URL (password hidden). */
  where: string;
  /** "ok": read; "idle": no OpenCode process is serving the machine ledger now; "unreachable": could not be read. */
  state: "ok" | "idle" | "unreachable";
  detail: string;
  pairs: PairStatus[];
}

export interface InspectOptions {
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  statePath: string | undefined;
  provider: string;
  redisFromFile: string | undefined;
  timeoutMs?: number;
}

/** Reads the ledger the plugin would use with this environment. Never throws. */
export async function inspectLedger(options: InspectOptions): Promise<LedgerView> {
  const choice = chooseLedger(options.env, options.homedir, options.statePath, options.provider, options.redisFromFile);
  const timeoutMs = options.timeoutMs ?? 1_500;
  if (choice.kind === "local")
    return {
      kind: "local",
      where: "ZAI_LEDGER=local",
      state: "ok",
      detail: "per-process slots (ZAI_LEDGER=local): processes do not share limits",
      pairs: [],
    };
  if (choice.kind === "redis" && choice.redisUrl) return inspectRedis(choice.redisUrl, choice.redisPrefix, timeoutMs);
  const path = choice.address.path;
  const writable = await creatable(dirname(path));
  try {
    const snap = await snapshot(path, timeoutMs);
    return { kind: "machine", where: path, state: "ok", detail: `coordinator: pid ${snap.pid}`, pairs: snap.pairs };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if ((code === "ENOENT" || code === "ECONNREFUSED") && writable) {
      return {
        kind: "machine",
        where: path,
        state: "idle",
        detail: "no OpenCode process is using it now; the first one to start serves it",
        pairs: [],
      };
    }
    const why = writable
      ? (code ?? (error instanceof Error ? error.message : String(error)))
      : `${dirname(path)} is not writable`;
    return {
      kind: "machine",
      where: path,
      state: "unreachable",
      detail: `${why}: OpenCode processes fall back to per-process slots`,
      pairs: [],
    };
  }
}

/** The directory exists and is writable, or could be created (its nearest existing ancestor is writable). */
async function creatable(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    const exists = await access(d).then(
      () => true,
      () => false,
    );
    if (exists) {
      return access(d, constants.W_OK).then(
        () => true,
        () => false,
      );
    }
    if (dirname(d) === d) return false;
  }
}

function snapshot(path: string, timeoutMs: number): Promise<{ pid: number; pairs: PairStatus[] }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    readMessages<ServerMessage>(socket, (message) => {
      if (message.t !== "snap") return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ pid: message.pid, pairs: message.pairs });
    });
    socket.once("connect", () => send(socket, { t: "snap", id: "cli" }));
  });
}

async function inspectRedis(url: string, prefix: string, timeoutMs: number): Promise<LedgerView> {
  const where = redactUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    // Writable: the plugin writes leases and queues with Lua scripts.
    await redis.set(`${prefix}doctor`, "1", "PX", 1_000);
    const time = await redis.time();
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const pairs = await redisPairs(redis, prefix, Math.max(now, Date.now()));
    return { kind: "redis", where, state: "ok", detail: "reachable and writable", pairs };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      kind: "redis",
      where,
      state: "unreachable",
      detail: `${why}: OpenCode processes fall back to the machine-wide ledger`,
      pairs: [],
    };
  } finally {
    redis.disconnect();
  }
}

/** Lines for `status`. */
export function renderLedger(view: LedgerView): string[] {
  const lines = [`slots: ${view.kind} ledger (${view.where}): ${view.detail}`];
  for (const p of view.pairs) {
    if (p.inFlight === 0 && p.queued === 0) continue;
    const holders = p.holders.map((h) => `${h.host} pid ${h.pid}`).join(", ");
    lines.push(
      `  ${p.account}/${p.model}: ${p.inFlight} in flight${holders ? ` (${holders})` : ""}, ${p.queued} waiting`,
    );
  }
  if (view.state === "ok" && view.kind !== "local" && lines.length === 1) lines.push("  nothing in flight");
  return lines;
}

/** The `doctor` check (shaped like src/cli/report.ts's Check). */
export function ledgerCheck(view: LedgerView): {
  id: string;
  level: "ok" | "info" | "warn";
  message: string;
  fix?: string;
} {
  const message = `${view.kind} slot ledger (${view.where}): ${view.detail}`;
  if (view.state !== "unreachable") return { id: "ledger", level: view.kind === "local" ? "info" : "ok", message };
  const fix =
    view.kind === "redis"
      ? 'check ZAI_REDIS_URL / "redis" in the keys file and that the server accepts writes from this machine'
      : "make the state directory writable (or set ZAI_STATE_FILE to a writable place), so OpenCode processes can " +
        "share slots";
  return { id: "ledger", level: "warn", message, fix };
}
