import { createHash } from "node:crypto";
import { join } from "node:path";

/**
 * Where the coordinator listens. Linux: an abstract Unix socket whose name is derived from the state directory and
 * the user (atomic to bind, vanishes with its process: no stale file). Elsewhere: a socket file in the state directory
 * (a stale one left by a crash is detected by a refused connection and removed).
 */
export interface LedgerAddress {
  path: string;
  /** A file that may be left behind by a crash. */
  isFile: boolean;
}

export function ledgerAddress(stateDir: string, platform: NodeJS.Platform = process.platform, uid = currentUid()): LedgerAddress {
  if (platform === "linux") {
    const digest = createHash("sha256").update(`${uid}\u0000${stateDir}`).digest("hex").slice(0, 24);
    return { path: `\0oc-zai-ledger-${digest}`, isFile: false };
  }
  return { path: join(stateDir, "zai-ledger.sock"), isFile: true };
}

function currentUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : 0;
}
