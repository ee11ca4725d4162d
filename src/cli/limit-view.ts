import { DEFAULT_MODEL_LIMITS, DEFAULT_OTHER_MODEL_LIMIT, type Settings } from "../config/schema.js";
import type { StateIds } from "../state/ids.js";
import type { ProviderState } from "../state/state-schema.js";

/** Where a model's limit starts: the keys file's maxConcurrency, else the model's default (as the plugin does). */
export function startLimit(settings: Settings | undefined, model: string): number {
  return settings?.models[model]?.maxConcurrency ?? DEFAULT_MODEL_LIMITS[model] ?? DEFAULT_OTHER_MODEL_LIMIT;
}

/** A pair's current limit, for "in flight / limit": the learned one from the state file, else where it starts. */
export function limitLookup(state: ProviderState, ids: StateIds, settings: Settings | undefined) {
  return (account: string, model: string): { limit: number; learned: boolean } => {
    const learned = state.limits[ids.storedAccount(account)]?.[model];
    return learned ? { limit: learned.limit, learned: true } : { limit: startLimit(settings, model), learned: false };
  };
}
