import { startLimit, type Settings } from "../config/schema.js";
import type { StateIds } from "../state/ids.js";
import type { ProviderState } from "../state/state-schema.js";

/** A pair's current limit, for "in flight / limit": the learned one from the state file, else where it starts. */
export function limitLookup(state: ProviderState, ids: StateIds, settings: Settings | undefined) {
  return (account: string, model: string): { limit: number; learned: boolean } => {
    const learned = state.limits[ids.storedAccount(account)]?.[model];
    return learned ? { limit: learned.limit, learned: true } : { limit: startLimit(settings, model), learned: false };
  };
}
