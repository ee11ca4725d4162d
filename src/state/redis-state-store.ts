import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { redactUrl } from "../util/redact-url.js";
import { redisOptions } from "../util/redis-options.js";
import type { StateStore } from "./state-store.js";
import { parseStateText, type ReadResult } from "./store.js";

export interface RedisStateStoreOptions {
  url: string;
  /** The ledger's key prefix (one namespace per provider): the document is `<prefix>state`. */
  prefix: string;
  connectTimeoutMs?: number;
}

/** Replaces the document only if nobody changed it since it was read, and tells the other processes. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[1], ARGV[3])
return 1
`;

/** Attempts of a blocking update before giving up until the next sync (others kept writing in between). */
const ATTEMPTS = 5;

type CasRedis = Redis & {
  compareAndSetState(key: string, expected: string, next: string, writer: string): Promise<number>;
};

/**
 * The pool state (cooldowns, disabled keys, unavailable models, learned limits) as one document in Redis, the same
 * shape as the state file, merged by StateSync like the file: so machines that share only ZAI_REDIS_URL share
 * them too. Writes are compare-and-set (no lock to wait for); a change is published, and the other processes merge
 * at once. Keys appear only by fingerprint, as in the state file. While Redis is unreachable, reads fail fast and
 * the process keeps its state in memory (and in its state file).
 */
export function redisStateStore(options: RedisStateStoreOptions): StateStore {
  const key = `${options.prefix}state`;
  const where = redactUrl(options.url);
  const writer = randomUUID();
  const common = redisOptions(options.connectTimeoutMs);
  const redis = new Redis(options.url, common) as CasRedis;
  const sub = new Redis(options.url, { ...common, autoResubscribe: false });
  redis.defineCommand("compareAndSetState", { numberOfKeys: 1, lua: COMPARE_AND_SET });
  for (const connection of [redis, sub]) {
    connection.on("error", () => {});
    // Never what keeps a finished `opencode run` alive.
    connection.on("connect", () => (connection as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
  }
  const listeners: Array<() => void> = [];
  sub.on("ready", () => void sub.subscribe(key).catch(() => {}));
  sub.on("message", (_channel: string, message: string) => {
    if (message !== writer) for (const listener of listeners) listener();
  });

  // Connected before the first read (bounded by connectTimeout); ioredis reconnects by itself afterwards.
  let connecting: Promise<void> | undefined;
  const connect = () =>
    (connecting ??= Promise.all([redis.connect().catch(() => {}), sub.connect().catch(() => {})]).then(() => {}));

  const read = async (): Promise<{ text: string | null; result: ReadResult }> => {
    await connect();
    try {
      const text = await redis.get(key);
      return { text, result: text === null ? { kind: "missing" } : parseStateText(text) };
    } catch (error) {
      return {
        text: null,
        result: {
          kind: "unreadable",
          problem:
            `cannot read the shared state in Redis ${where} ` +
            `(${error instanceof Error ? error.message : String(error)})`,
        },
      };
    }
  };

  return {
    name: `shared state in Redis ${where}`,
    update: async (change, { tryOnly }) => {
      for (let attempt = 0; attempt < (tryOnly ? 1 : ATTEMPTS); attempt++) {
        const { text, result } = await read();
        const next = change(result);
        if (next === undefined || result.kind === "unreadable") return result;
        if ((await redis.compareAndSetState(key, text ?? "", JSON.stringify(next), writer)) === 1) return result;
      }
      if (tryOnly) return "busy";
      throw new Error(
        `the shared state in Redis ${where} kept changing while it was merged; merging again at the next sync`,
      );
    },
    onRemoteChange: (listener) => void listeners.push(listener),
    close: async () => {
      redis.disconnect();
      sub.disconnect();
    },
  };
}
