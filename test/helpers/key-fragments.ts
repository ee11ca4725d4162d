/**
 * Finds key material in text a user or OpenCode could see: any fragment of 12 or more characters of a secret
 * (every such fragment contains a 12-character one, so those are what is searched for).
 */
export const MIN_FRAGMENT = 12;

/** Every distinct `length`-character window of each secret. */
export function fragmentsOf(secrets: Iterable<string>, length = MIN_FRAGMENT): Set<string> {
  const out = new Set<string>();
  for (const secret of secrets) {
    if (secret.length <= length) {
      out.add(secret);
      continue;
    }
    for (let i = 0; i + length <= secret.length; i++) out.add(secret.slice(i, i + length));
  }
  return out;
}

export interface Leak {
  /** Where it was seen, e.g. "response body" or "toast". */
  where: string;
  fragment: string;
  /** Up to 40 characters around the fragment, the fragment itself masked. */
  context: string;
}

/** A scanner for one set of secrets; `scan` returns the first fragment found in `text`, if any. */
export class LeakScanner {
  readonly #fragments: string[];
  readonly found: Leak[] = [];

  constructor(secrets: Iterable<string>) {
    this.#fragments = [...fragmentsOf(secrets)];
  }

  /** Records and returns the first leak in `text` (undefined when clean). */
  scan(where: string, text: string): Leak | undefined {
    for (const fragment of this.#fragments) {
      const at = text.indexOf(fragment);
      if (at === -1) continue;
      const context = `${text.slice(Math.max(0, at - 20), at)}<${fragment.length} chars>${text.slice(at + fragment.length, at + fragment.length + 20)}`;
      const leak = { where, fragment, context };
      this.found.push(leak);
      return leak;
    }
    return undefined;
  }

  /** Scans a response's status line, headers and body text. */
  scanResponse(where: string, response: Response, body: string): Leak | undefined {
    const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
    return this.scan(`${where} headers`, `${response.statusText}\n${headers}`) ?? this.scan(`${where} body`, body);
  }
}

/** Short description of the leaks, never quoting a fragment (the fragment would leak into test output). */
export function describeLeaks(leaks: readonly Leak[]): string {
  return leaks.map((l) => `${l.where}: ${l.context}`).join("\n");
}
