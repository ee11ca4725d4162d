import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  attachStateSync,
  keysFileSchema,
  nodeStateFs,
  type ApiKey,
  type Clock,
  type StateFs,
  type StateSyncOptions,
} from "../../src/lib.js";
import { KeyPool } from "../../src/pool/key-pool.js";
import { Limits } from "../../src/limits/limits.js";

export async function tempStatePath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "zai-state-"));
  return join(dir, "state", "zai-multi-account-state.json");
}

export function fileKey(id: string, apiKey: string, account = id): ApiKey {
  return { id, label: id, apiKey, account, provider: "zai-coding-plan", source: "file" };
}

/** Two accounts: "personal" with keys main and spare, and "work" (a key that is its own account). */
export function sampleKeys(): ApiKey[] {
  return [
    fileKey("main", "sk-test-main", "personal"),
    fileKey("spare", "sk-test-spare", "personal"),
    fileKey("work", "sk-test-work"),
  ];
}

export function makeProcess(keys: ApiKey[] = sampleKeys(), models: Record<string, { maxConcurrency: number }> = {}) {
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse({ models });
  return { keys, pool: new KeyPool(keys), limits: new Limits(settings) };
}

/** Pushes a limit to `to` through 1302 refusals, as the leases would. */
export function learnLimit(limits: Limits, account: string, model: string, to: number): void {
  for (let i = 0; i < 10 && limits.limit(account, model) > to; i++) {
    limits.refused(account, model, limits.get(account, model).epoch, to);
  }
}

/** One "process" (pool, limits) attached to the state file; warnings recorded. */
export async function attach(path: string, clock: Clock, proc = makeProcess(), extra: Partial<StateSyncOptions> = {}) {
  const warnings: string[] = [];
  const sync = await attachStateSync({
    provider: "zai-coding-plan",
    pool: proc.pool,
    limits: proc.limits,
    keys: proc.keys,
    clock,
    path,
    onWarning: (m) => warnings.push(m),
    ...extra,
  });
  return { ...proc, sync, warnings };
}

interface StateJson {
  version: number;
  providers: Record<
    string,
    {
      accountCooldowns: Record<string, { until: number }>;
      disabledKeys: Record<string, unknown>;
      unavailable: Record<string, Record<string, unknown>>;
      limits: Record<string, Record<string, { limit: number }>>;
      resets: { all?: number };
    }
  >;
}

export async function readJson(path: string): Promise<StateJson> {
  return JSON.parse(await readFile(path, "utf8")) as StateJson;
}

/** The real file system, counting writes. */
export function countingFs(): StateFs & { writes: number } {
  const fs = { ...nodeStateFs, writes: 0 };
  fs.writeDurable = async (...args) => {
    fs.writes++;
    return nodeStateFs.writeDurable(...args);
  };
  return fs;
}
