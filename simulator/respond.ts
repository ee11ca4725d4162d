/** Writing answers: completions (streamed or not), error JSON, and the mid-stream faults. */
import { STATUS_CODES } from "node:http";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Timing } from "./config.js";
import {
  completionBody,
  contentFrame,
  contentPieces,
  errorBody,
  sseErrorFrame,
  streamFrames,
  usageFor,
} from "./responses.js";
import type { CompletionContext } from "./responses.js";

const JSON_TYPE = "application/json";
const SSE_HEADERS: OutgoingHttpHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache" };

export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(status, { "content-type": JSON_TYPE, ...headers });
  res.end(body);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): void {
  sendJson(res, status, errorBody(code, message), headers);
}

/** A status with a plain-text body and no business code (e.g. a bare 429 or a gateway 502). */
export function sendPlainStatus(
  res: ServerResponse,
  status: number,
  headers?: Record<string, string>,
  text?: string,
): void {
  res.writeHead(status, { "content-type": "text/plain", ...headers });
  res.end(text ?? STATUS_CODES[status] ?? String(status));
}

/**
 * Writes `frames` (the first after `firstDelayMs`, the others `gapMs` apart; no timers when a delay is 0),
 * then hands the last batch to `finish`. Stops when the client goes away.
 */
function play(
  res: ServerResponse,
  frames: readonly string[],
  firstDelayMs: number,
  gapMs: number,
  finish: (last: string) => void,
): void {
  let timer: NodeJS.Timeout | undefined;
  let next = 0;
  const start = Date.now();
  const step = (): void => {
    timer = undefined;
    if (res.destroyed) return;
    let out = "";
    do out += frames[next++] ?? "";
    while (next < frames.length && gapMs <= 0);
    if (next >= frames.length) return finish(out);
    res.write(out);
    // Frame k is due at start + first delay + k·gap: lateness of one timer does not add up over a stream.
    const due = start + firstDelayMs + next * gapMs;
    timer = setTimeout(step, Math.max(0, due - Date.now()));
  };
  if (firstDelayMs > 0 || (gapMs > 0 && frames.length > 1)) {
    res.once("close", () => clearTimeout(timer));
  }
  if (firstDelayMs > 0) timer = setTimeout(step, firstDelayMs);
  else step();
}

function destroyAfter(res: ServerResponse, last: string): void {
  res.write(last, () => res.destroy());
}

export type LineEnding = "lf" | "cr" | "crlf";

export interface Completion {
  ctx: CompletionContext;
  stream: boolean;
  timing: Timing;
  promptTokens: number;
  headers: Record<string, string>;
  finishReason: string;
  /** Prompt tokens served from the account's prompt cache (see prompt-cache.ts). */
  cachedTokens?: number;
  /** SSE line endings (default "lf"). */
  lineEnding?: LineEnding;
}

/** Rewrites the LF line ends of SSE frames (JSON data lines hold no raw newline). */
function withEnding(frames: string[], ending: LineEnding | undefined): string[] {
  if (ending === undefined || ending === "lf") return frames;
  const end = ending === "cr" ? "\r" : "\r\n";
  return frames.map((frame) => frame.replace(/\n/g, end));
}

export function serveCompletion(res: ServerResponse, c: Completion): void {
  const pieces = contentPieces(c.timing.chunks);
  const usage = usageFor(c.promptTokens, pieces, c.cachedTokens);
  const { latencyMs, gapMs } = c.timing;
  if (!c.stream) {
    const body = completionBody(c.ctx, pieces, usage, c.finishReason);
    const delay = latencyMs + gapMs * Math.max(pieces.length, 1);
    play(res, [body], delay, 0, (last) => sendJson(res, 200, last, c.headers));
    return;
  }
  res.writeHead(200, { ...SSE_HEADERS, ...c.headers });
  if (latencyMs > 0 || gapMs > 0) res.flushHeaders();
  const frames = withEnding(streamFrames(c.ctx, pieces, usage, c.finishReason), c.lineEnding);
  play(res, frames, latencyMs, gapMs, (last) => res.end(last));
}

/** 200 headers, one content chunk, then the socket is destroyed. */
export function dropMidStream(res: ServerResponse, c: Completion): void {
  const [piece = "Hello"] = contentPieces(1);
  res.writeHead(200, { ...(c.stream ? SSE_HEADERS : { "content-type": JSON_TYPE }), ...c.headers });
  res.flushHeaders();
  const partial = c.stream ? contentFrame(c.ctx, piece, true) : `{"id":"${c.ctx.id}","object":"chat.completion",`;
  play(res, [partial], c.timing.latencyMs, 0, (last) => destroyAfter(res, last));
}

/** 200 event-stream: `afterChunks` content chunks, then an error event, then the stream ends (non-streaming: 200 JSON error). */
export function sseError(
  res: ServerResponse,
  c: Completion,
  error: { code: string; message: string; event: boolean; afterChunks: number },
): void {
  if (!c.stream) {
    // Without `stream: true` there is no event stream: the business error comes as a 200 JSON body.
    const body = errorBody(error.code, error.message);
    play(res, [body], c.timing.latencyMs, 0, (last) => sendJson(res, 200, last, c.headers));
    return;
  }
  const content = contentPieces(error.afterChunks).map((piece, i) => contentFrame(c.ctx, piece, i === 0));
  const frames = withEnding([...content, sseErrorFrame(error.code, error.message, error.event)], c.lineEnding);
  res.writeHead(200, { ...SSE_HEADERS, ...c.headers });
  if (c.timing.latencyMs > 0 || c.timing.gapMs > 0) res.flushHeaders();
  play(res, frames, c.timing.latencyMs, c.timing.gapMs, (last) => res.end(last));
}

/** A gateway's HTML page (e.g. a 200 from a captive proxy, or a 502 page). */
export function sendHtml(res: ServerResponse, status: number, text: string): void {
  const escaped = text.replace(/[&<>]/g, (ch) => (ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : "&gt;"));
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(
    `<!DOCTYPE html>\n<html><head><title>${escaped}</title></head><body><h1>${escaped}</h1><hr><center>nginx</center></body></html>\n`,
  );
}

/** The first `fraction` of a completion's bytes (JSON with its full content-length, or SSE cut mid-frame), then a reset. */
export function cutBody(res: ServerResponse, c: Completion, fraction: number): void {
  const pieces = contentPieces(c.timing.chunks);
  const usage = usageFor(c.promptTokens, pieces);
  const full = Buffer.from(
    c.stream
      ? streamFrames(c.ctx, pieces, usage, c.finishReason).join("")
      : completionBody(c.ctx, pieces, usage, c.finishReason),
  );
  const cut = full.subarray(0, Math.max(1, Math.floor(full.length * fraction))).toString();
  if (c.stream) res.writeHead(200, { ...SSE_HEADERS, ...c.headers });
  else res.writeHead(200, { "content-type": JSON_TYPE, "content-length": String(full.length), ...c.headers });
  res.flushHeaders();
  play(res, [cut], c.timing.latencyMs, 0, (last) => destroyAfter(res, last));
}

/** An error JSON cut after `bytes` bytes: ended normally, or (with `reset`) announced whole and reset. */
export function truncatedError(res: ServerResponse, status: number, body: string, bytes: number, reset: boolean): void {
  const full = Buffer.from(body);
  const cut = full.subarray(0, Math.min(bytes, full.length));
  if (!reset) {
    res.writeHead(status, { "content-type": JSON_TYPE });
    res.end(cut);
    return;
  }
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": String(full.length) });
  res.write(cut, () => res.destroy());
}
