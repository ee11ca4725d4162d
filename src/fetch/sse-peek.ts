import { parseSseError, type UpstreamError } from "../classify/parse.js";

export type PeekResult =
  /** The first event is an error: the stream has been cancelled. */
  | { kind: "error"; error: UpstreamError }
  /** The first event is content: `chunks` were read and must be sent before the rest of `reader`. */
  | { kind: "content"; chunks: Uint8Array[]; reader: ReadableStreamDefaultReader<Uint8Array> };

const MAX_PEEK_BYTES = 64 * 1024;

/**
 * Reads a 200 SSE stream up to its first event that carries data, to catch errors Z.AI sends inside
 * streams (`data: {"error":...}`, `event: error`) before any content reaches the caller. Nothing past
 * that first event is read: the stream is not buffered.
 */
export async function peekFirstEvent(body: ReadableStream<Uint8Array>, decoder: TextDecoder): Promise<PeekResult> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let text = "";
  let searchFrom = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (value) {
      chunks.push(value);
      // Decoded whole each time (no streaming state), so one decoder serves concurrent requests.
      text = decoder.decode(chunks.length === 1 ? value : concat(chunks));
    }
    for (;;) {
      const end = eventEnd(text, searchFrom);
      if (end === -1) break;
      const event = text.slice(searchFrom, end);
      searchFrom = end;
      const verdict = inspectEvent(event);
      if (verdict === "skip") continue;
      if (verdict === "content") return { kind: "content", chunks, reader };
      await reader.cancel().catch(() => {});
      return { kind: "error", error: verdict };
    }
    if (done || text.length > MAX_PEEK_BYTES) {
      const tail = text.slice(searchFrom);
      const verdict = tail.trim() ? inspectEvent(tail) : "skip";
      if (verdict !== "skip" && verdict !== "content") {
        await reader.cancel().catch(() => {});
        return { kind: "error", error: verdict };
      }
      return { kind: "content", chunks, reader };
    }
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function eventEnd(text: string, from: number): number {
  const lf = text.indexOf("\n\n", from);
  const crlf = text.indexOf("\r\n\r\n", from);
  if (lf === -1 && crlf === -1) return -1;
  if (crlf === -1 || (lf !== -1 && lf < crlf)) return lf + 2;
  return crlf + 4;
}

function inspectEvent(event: string): UpstreamError | "content" | "skip" {
  let type = "message";
  const data: string[] = [];
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return type === "error" ? { code: undefined, message: "error event in stream" } : "skip";
  const payload = data.join("\n");
  const error = parseSseError(payload);
  if (error) return error;
  if (type === "error") return { code: undefined, message: payload.slice(0, 500) };
  return "content";
}
