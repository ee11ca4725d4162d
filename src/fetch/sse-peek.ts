import { createParser } from "eventsource-parser";
import { parseSseError, type UpstreamError } from "../classify/parse.js";

export type PeekResult =
  /** The first event is an error: the stream has been cancelled. */
  | { kind: "error"; error: UpstreamError }
  /** The first event is content: `chunks` were read and must be sent before the rest of `reader`. */
  | { kind: "content"; chunks: Uint8Array[]; reader: ReadableStreamDefaultReader<Uint8Array> };

/** Past this many bytes without a data event, the stream is handed on as it is. */
export const MAX_PEEK_BYTES = 64 * 1024;

/**
 * Reads a 200 SSE stream up to its first event that carries data, to catch errors Z.AI sends inside streams
 * (`data: {"error":...}`, `event: error`) before any content reaches the caller. Framing (LF, CRLF, CR-only line
 * endings, comments, multi-line data) is eventsource-parser's. Nothing past that first event is read.
 */
export async function peekFirstEvent(body: ReadableStream<Uint8Array>): Promise<PeekResult> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const head = await reader.read();
  if (head.done) return { kind: "content", chunks: [], reader };
  const text = decoder.decode(head.value, { stream: true });
  if (plainContent(text)) return { kind: "content", chunks: [head.value], reader };
  return parsed(reader, decoder, head.value, text);
}

/**
 * The usual first chunk, decided without the parser: it opens with one complete `data:` line (LF endings) that does
 * not mention an error. Anything else (comments, `event:` lines, CR or CRLF endings, a split line) goes to the parser.
 */
function plainContent(text: string): boolean {
  if (!text.startsWith("data:")) return false;
  const end = text.indexOf("\n");
  if (end < 0 || text.charCodeAt(end + 1) !== 10) return false;
  const line = text.slice(0, end);
  return !line.includes("error") && !line.includes("\r");
}

async function parsed(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  decoder: TextDecoder,
  firstChunk: Uint8Array,
  firstText: string,
): Promise<PeekResult> {
  const chunks: Uint8Array[] = [firstChunk];
  let first: UpstreamError | "content" | undefined;
  const parser = createParser({
    onEvent(event) {
      first ??= inspect(event.event, event.data);
    },
  });
  let bytes = firstChunk.byteLength;
  parser.feed(firstText);
  for (let done = false; ; ) {
    if (done) parser.feed("\n\n"); // a last event without its blank line still counts
    if (first === "content" || ((done || bytes > MAX_PEEK_BYTES) && first === undefined))
      return { kind: "content", chunks, reader };
    if (first !== undefined) {
      await reader.cancel().catch(() => {});
      return { kind: "error", error: first };
    }
    const next = await reader.read();
    done = next.done;
    if (next.value) {
      chunks.push(next.value);
      bytes += next.value.byteLength;
      parser.feed(decoder.decode(next.value, { stream: true }));
    }
  }
}

function inspect(type: string | undefined, data: string): UpstreamError | "content" {
  const error = parseSseError(data);
  if (error) return error;
  if (type === "error") return { code: undefined, message: data.slice(0, 500) || "error event in stream" };
  return "content";
}
