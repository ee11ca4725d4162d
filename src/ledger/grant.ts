import type { SlotGrant } from "./ledger.js";

/** A grant whose `release` runs `free` once, however often it is called (both ledgers hand these out). */
export function onceReleased(grant: Omit<SlotGrant, "release">, free: () => void): SlotGrant {
  let released = false;
  return {
    ...grant,
    release: () => {
      if (released) return;
      released = true;
      free();
    },
  };
}
