/**
 * The one key for an (account, model) pair in every map of this process: limits, holds, unavailable models, slots.
 * The Redis scripts build the same key (`pair()` in src/ledger/redis-lua.ts).
 */
export function pairKey(account: string, model: string): string {
  return `${account}\u0000${model}`;
}

/** The account and model a `pairKey` was made of. */
export function splitPair(pair: string): { account: string; model: string } {
  const cut = pair.indexOf("\u0000");
  return cut < 0 ? { account: pair, model: "" } : { account: pair.slice(0, cut), model: pair.slice(cut + 1) };
}
