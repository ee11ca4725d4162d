/**
 * The three contenders of S1–S3, each against its own fresh simulator with the same accounts:
 * the plugin (3 accounts × 2 keys, told which keys share an account), seed-004 (the same 6 keys, no accounts),
 * and one key without any plugin. All three are driven by the same OpenCode-like caller and timed alike.
 */
import { startSimulator } from "../../simulator/server.js";
import type { Simulator, SimulatorConfig } from "../../simulator/types.js";
import type { KeysFileInput } from "../../src/lib.js";
import { createSeed004Fetch } from "../baselines/seed004.js";
import { pluginFetch, type AccountKeys } from "./plugin.js";
import { instrumentedUpstream } from "./upstream.js";
import type { Contender } from "./workload.js";

export type ContenderKind = "plugin" | "seed004" | "single-key";

export const CONTENDER_LABEL: Record<ContenderKind, string> = {
  plugin: "plugin (3 acc × 2 keys)",
  seed004: "seed-004 (6 keys) + OpenCode retry",
  "single-key": "1 key, no plugin + OpenCode retry",
};

export const ACCOUNTS: readonly AccountKeys[] = ["a", "b", "c"].map((name) => ({
  account: `acct-${name}`,
  keys: [`sk-${name}-1`, `sk-${name}-2`],
}));

export interface Timing {
  latencyMs: number;
  chunks: number;
  durationMs: number;
}

export interface Arena {
  sim: Simulator;
  contender: Contender;
  /** What the contender learned, for the table (the plugin's final limits). */
  notes(): string;
  close(): Promise<void>;
}

export async function arena(
  kind: ContenderKind,
  model: string,
  realLimit: number,
  timing: Timing,
  settings: Omit<KeysFileInput, "keys" | "$schema">,
): Promise<Arena> {
  const config: SimulatorConfig = {
    accounts: ACCOUNTS.map(({ account, keys }) => ({ id: account, keys: [...keys], limits: { [model]: realLimit } })),
    ...timing,
  };
  const sim = await startSimulator(config);
  const upstream = instrumentedUpstream();
  const allKeys = ACCOUNTS.flatMap((a) => a.keys);
  let contender: Contender;
  let stop = () => {};
  let notes = () => "";
  switch (kind) {
    case "plugin": {
      const fetch = pluginFetch(ACCOUNTS, settings, upstream.fetch);
      stop = () => fetch.leases.close();
      notes = () => `limits at end ${ACCOUNTS.map((a) => fetch.limits.limit(a.account, model)).join("/")}`;
      contender = {
        name: CONTENDER_LABEL[kind],
        fetch,
        authorization: "Bearer oc-zai-multi-account-managed",
        upstream,
      };
      break;
    }
    case "seed004":
      contender = {
        name: CONTENDER_LABEL[kind],
        fetch: createSeed004Fetch({ keys: allKeys, fetch: upstream.fetch }),
        authorization: "Bearer placeholder",
        upstream,
      };
      break;
    case "single-key":
      contender = {
        name: CONTENDER_LABEL[kind],
        fetch: upstream.fetch,
        authorization: `Bearer ${allKeys[0]!}`,
        upstream,
      };
      break;
    default:
      return kind satisfies never;
  }
  return {
    sim,
    contender,
    notes: () => notes(),
    close: async () => {
      stop();
      await sim.close();
    },
  };
}
