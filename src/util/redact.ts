import { createHash } from "node:crypto";

/** A short, stable, non-reversible name for a key: safe to log and to persist. */
export function fingerprint(apiKey: string): string {
  return createHash("sha256").update(apiKey).digest("hex").slice(0, 16);
}

/** Fragments of a configured key this long or longer are removed wherever they appear. */
export const MIN_FRAGMENT = 12;
const MASK = "***";
/** Z.AI keys: 32 hex digits, a dot, 16 letters/digits. */
const ZAI_KEY_SHAPE = /[0-9a-f]{32}\.[A-Za-z0-9]{16}/gi;
const BEARER = /(Bearer\s+)(?!\*\*\*)[^\s"',;}\]]{4,}/gi;
/** Other credential shapes: `sk-...` style keys and long opaque tokens next to a credential name. */
const NAMED_SECRET = /((?:api[_-]?key|authorization|token|secret)["']?\s*[:=]\s*["']?)(?!\*\*\*)[^\s"',;}\]]{8,}/gi;

/**
 * The one redaction point. Everything the plugin shows or writes (answers to OpenCode, toasts, logs, state-file
 * entries, CLI output) passes through `redact`. It removes every configured key, whole or as any fragment of
 * MIN_FRAGMENT+ characters, plus anything shaped like a Z.AI key, a `Bearer` token or a named credential.
 */
export class Redactor {
  private grams = new Set<string>();
  private secrets: string[] = [];

  constructor(secrets: Iterable<string> = []) {
    this.add(secrets);
  }

  /** Learns more key material (keys loaded later, the stored credential). */
  add(secrets: Iterable<string>): void {
    for (const secret of secrets) {
      if (secret.length < 4 || this.secrets.includes(secret)) continue;
      this.secrets.push(secret);
      for (let i = 0; i + MIN_FRAGMENT <= secret.length; i++) this.grams.add(secret.slice(i, i + MIN_FRAGMENT));
    }
    // Longest first, so a key that contains another is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    // A whole key keeps its last four characters, so a user can tell which key it was.
    for (const secret of this.secrets)
      if (out.includes(secret)) out = out.split(secret).join(`${MASK}${secret.slice(-4)}`);
    out = this.maskFragments(out);
    return out.replace(ZAI_KEY_SHAPE, MASK).replace(BEARER, `$1${MASK}`).replace(NAMED_SECRET, `$1${MASK}`);
  }

  /** Redacts every string inside a JSON-like value (for log extras and state entries). */
  redactDeep<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }

  /** Masks every run of text covered by MIN_FRAGMENT-character windows that occur in some configured key. */
  private maskFragments(text: string): string {
    if (this.grams.size === 0 || text.length < MIN_FRAGMENT) return text;
    let covered: boolean[] | undefined;
    for (let i = 0; i + MIN_FRAGMENT <= text.length; i++) {
      if (!this.grams.has(text.slice(i, i + MIN_FRAGMENT))) continue;
      covered ??= new Array<boolean>(text.length).fill(false);
      for (let j = i; j < i + MIN_FRAGMENT; j++) covered[j] = true;
    }
    if (!covered) return text;
    let out = "";
    for (let i = 0; i < text.length; i++) {
      if (!covered[i]) out += text[i];
      else if (i === 0 || !covered[i - 1]) out += MASK;
    }
    return out;
  }
}

/** One-off redaction with a list of secrets (kept for callers outside an engine: CLI, tests). */
export function redact(text: string, secrets: Iterable<string>): string {
  return new Redactor(secrets).redact(text);
}
