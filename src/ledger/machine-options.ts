import { systemClock, type Clock } from "../util/clock.js";
import type { LedgerAddress } from "./socket-address.js";

export interface MachineOptions {
  address: LedgerAddress;
  clock: Clock;
  onWarning: (message: string) => void;
  /** After a take-over, how long re-registering holders get before the new coordinator grants anything. */
  recoverMs?: number;
  /** The longest the leases of a coordinator that went silent stay counted without it coming back. */
  ghostHoldMs?: number;
  /** The clock of the machine-level timers (liveness pings, take-over pause); the system clock by default. */
  liveness?: Clock;
}

/** After a take-over, the longest the successor waits for surviving processes to re-register their slots. */
export const DEFAULT_RECOVER_MS = 1_500;
/** A silent coordinator's leases stay counted this long (its streams may still run) unless it re-registers them. */
export const DEFAULT_GHOST_HOLD_MS = 120_000;

/** The machine-level timings, defaults filled in. */
export function timings(options: MachineOptions): { liveness: Clock; recoverMs: number; ghostHoldMs: number } {
  return {
    liveness: options.liveness ?? systemClock,
    recoverMs: options.recoverMs ?? DEFAULT_RECOVER_MS,
    ghostHoldMs: options.ghostHoldMs ?? DEFAULT_GHOST_HOLD_MS,
  };
}
