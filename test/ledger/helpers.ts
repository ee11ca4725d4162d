import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../src/util/clock.js";
import type { SlotRequest } from "../../src/ledger/ledger.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import type { LedgerAddress } from "../../src/ledger/socket-address.js";

/** A fresh socket file per test, so parallel test files never meet. */
export function testAddress(): LedgerAddress {
  return { path: join(tmpdir(), `oc-zai-ledger-test-${randomUUID()}.sock`), isFile: true };
}

export function machine(address: LedgerAddress, warnings: string[] = []): Promise<SharedLedger> {
  return SharedLedger.machine({ address, clock: systemClock, onWarning: (m) => warnings.push(m), recoverMs: 3_000 });
}

let seq = 0;
export function request(accounts: string[], cap = 1, extra: Partial<SlotRequest> = {}): SlotRequest {
  return { model: "m", seq: seq++, candidates: () => accounts, cap: () => cap, timeoutMs: 10_000, ...extra };
}

/** Resolves when `check` holds, polling every 5 ms (for cross-process effects only). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
