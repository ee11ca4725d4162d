import { createHash } from "node:crypto";

/** A short, stable, non-reversible name for a key: safe to log and to persist. */
export function fingerprint(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex").slice(0, 16);
}

/**
 * Replaces every occurrence of any of `secrets` in `text` with a mask.
 * The last line of defence: messages are built from key ids, this catches what slips through
 * (an upstream body echoing the key, an error from the network stack quoting a header).
 */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    if (out.includes(secret)) out = out.split(secret).join(mask(secret));
  }
  return out.replace(/(Bearer\s+)(?!\*)[A-Za-z0-9._\-]{8,}/g, "$1***");
}

function mask(secret: string): string {
  return `***${secret.slice(-4)}`;
}
