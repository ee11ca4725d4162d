import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
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

export function ledgerAddress(stateDir: string, provider: string, platform: NodeJS.Platform = process.platform, uid = currentUid()): LedgerAddress {
  if (platform === "linux") {
    const digest = createHash("sha256").update(`${uid}\u0000${stateDir}\u0000${provider}`).digest("hex").slice(0, 24);
    return { path: `\0oc-zai-ledger-${digest}`, isFile: false };
  }
  // Socket paths are limited to about 100 bytes: a long state directory falls back to the temp directory.
  const path = join(stateDir, `zai-ledger-${provider}.sock`);
  if (Buffer.byteLength(path) < 100) return { path, isFile: true };
  const digest = createHash("sha256").update(`${uid}\u0000${stateDir}\u0000${provider}`).digest("hex").slice(0, 16);
  return { path: join(tmpdir(), `oc-zai-ledger-${uid}-${digest}.sock`), isFile: true };
}

function currentUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : 0;
}
