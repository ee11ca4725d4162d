/**
 * What an answer used (issue 18): `usage.prompt_tokens`, `completion_tokens` and
 * `prompt_tokens_details.cached_tokens`, from a JSON body or from the last SSE chunk of a stream. The stream is not
 * buffered: the tap keeps references to its last chunks (about `TAIL_BYTES`) as they pass and looks at them once,
 * at the stream's end. Per chunk it costs an array push; per answer one decode of a few KB and three regex matches.
 */

import type { Usage } from "../quota/usage.js";

export type { Usage };

/** The usage frame is the last data event before `[DONE]`: well inside this many bytes of the end. */
export const TAIL_BYTES = 4096;

const USAGE = /"usage"\s*:/g;
const PROMPT = /"prompt_tokens"\s*:\s*(\d+)/;
const COMPLETION = /"completion_tokens"\s*:\s*(\d+)/;
const CACHED = /"cached_tokens"\s*:\s*(\d+)/;

/** The last `usage` object in `text`, or undefined when there is none with a prompt or completion count. */
export function usageIn(text: string): Usage | undefined {
  let last = -1;
  USAGE.lastIndex = 0;
  for (let m = USAGE.exec(text); m !== null; m = USAGE.exec(text)) last = m.index;
  if (last < 0) return undefined;
  const rest = text.slice(last);
  const prompt = PROMPT.exec(rest);
  const completion = COMPLETION.exec(rest);
  if (prompt === null && completion === null) return undefined;
  const cached = CACHED.exec(rest);
  return {
    promptTokens: Number(prompt?.[1] ?? 0),
    completionTokens: Number(completion?.[1] ?? 0),
    cachedTokens: Number(cached?.[1] ?? 0),
  };
}

/** Watches a stream's chunks go by; `end()` reads the usage from the tail once. */
export class UsageTap {
  private readonly tail: Uint8Array[] = [];
  private bytes = 0;
  private readonly onUsage: (usage: Usage) => void;

  constructor(onUsage: (usage: Usage) => void) {
    this.onUsage = onUsage;
  }

  chunk(value: Uint8Array): void {
    this.tail.push(value);
    this.bytes += value.byteLength;
    while (this.tail.length > 1 && this.bytes - this.tail[0]!.byteLength >= TAIL_BYTES) {
      this.bytes -= this.tail.shift()!.byteLength;
    }
  }

  /** The stream ended whole: report its usage, when it carried one. */
  end(): void {
    if (this.tail.length === 0) return;
    const decoder = new TextDecoder();
    let text = "";
    for (const part of this.tail) text += decoder.decode(part, { stream: true });
    text += decoder.decode();
    this.tail.length = 0;
    const usage = usageIn(text);
    if (usage !== undefined) this.onUsage(usage);
  }
}
