import type { LastWords } from "./socket-client.js";

/** After a take-over: whom to wait for, and the leases of processes that may still run streams (kept counted). */
export interface Succession {
  /** Processes to wait for (each until it said `ready`, at most the pause bound) before granting anything. */
  awaiting: ReadonlySet<string>;
  /** `[owner, account, model, count]`, each owner's kept until it re-registers (`ready`) or the ghost bound passes. */
  ghosts: Array<[string, string, string, number]>;
}

/** Awaited by a successor that does not know whom to wait for: only the time bound ends its pause. */
export const UNKNOWN = "";

/**
 * The coordinator exited (its connection ended): it is first in the peers list and its streams ended with it; every
 * other peer re-registers. Without a list (this process joined just before), only the time bound ends the pause.
 */
export function afterExit(peers: readonly string[]): Succession {
  return { awaiting: new Set(peers.length > 0 ? peers.slice(1) : [UNKNOWN]), ghosts: [] };
}

/**
 * The coordinator stopped answering: its own leases stay counted (it told each one: exact), as do the others' it
 * counted last (until each re-registers); the processes that held or waited for slots are waited for.
 */
export function afterSilence({ pong, own }: LastWords, peers: readonly string[]): Succession {
  const silent = pong?.by ?? peers[0] ?? UNKNOWN;
  const ghosts = (pong?.leases ?? []).filter(([owner]) => owner !== silent);
  for (const { account, model } of own) ghosts.push([silent, account, model, 1]);
  return { awaiting: new Set(pong ? pong.busy.filter((owner) => owner !== silent) : [UNKNOWN]), ghosts };
}

/** This process stepped down after a lapse: every lease its stale table counted stays counted until re-registered. */
export function afterLapse(owned: Array<[string, string, string, number]>): Succession {
  return { awaiting: new Set(owned.map(([owner]) => owner)), ghosts: owned };
}
