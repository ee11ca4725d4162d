import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Where the coordinator listens: a Unix socket file in the state directory, one per provider (a stale one left by a
 * crash is detected by a refused connection and removed). Not a Linux abstract socket, although that would leave
 * no stale file: Node pads abstract names to the full 108 bytes and Bun does not, so a Node process (the CLI, tests)
 * and Bun processes (OpenCode) would never meet on one (measured: Node 20.20, Bun 1.4.5).
 */
export interface LedgerAddress {
  path: string;
  /** A file that may be left behind by a crash. */
  isFile: boolean;
}

export function ledgerAddress(stateDir: string, provider: string, uid = currentUid()): LedgerAddress {
  // Socket paths are limited to about 100 bytes: a long state directory falls back to the temp directory.
  const path = join(stateDir, `zai-ledger-${provider}.sock`);
  if (Buffer.byteLength(path) < 100) return { path, isFile: true };
  const digest = createHash("sha256").update(`${uid}\u0000${stateDir}\u0000${provider}`).digest("hex").slice(0, 16);
  return { path: join(tmpdir(), `oc-zai-ledger-${uid}-${digest}.sock`), isFile: true };
}

function currentUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : 0;
}
