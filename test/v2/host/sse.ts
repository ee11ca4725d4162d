/**
 * How the 2.x host reads a 200 body (packages/ai protocol `zai-chat`, OpenAI chat SSE): text deltas become output;
 * an error object inside the stream is a provider error event that fails the step (runner/step.ts: no retry, and
 * a retry only ever happens before any output was streamed).
 */
export interface StreamRead {
  text: string;
  /** The first error event, and whether output had already been streamed before it. */
  error: { message: string; code: string | undefined; afterOutput: boolean } | undefined;
  frames: number;
}

export async function readChatStream(body: ReadableStream<Uint8Array> | null): Promise<StreamRead> {
  const result: StreamRead = { text: "", error: undefined, frames: 0 };
  if (!body) return result;
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      if (frameDone(frame, result)) {
        await reader.cancel().catch(() => {});
        return result;
      }
    }
    if (done) break;
  }
  if (buffer.trim()) frameDone(buffer, result);
  return result;
}

/** Applies one SSE frame; true when the step is over (an error event). */
function frameDone(frame: string, result: StreamRead): boolean {
  const data = frame
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trimStart())
    .join("\n");
  if (!data || data === "[DONE]") return false;
  result.frames++;
  let json: { error?: { message?: string; code?: string | number }; choices?: Array<{ delta?: { content?: string } }> };
  try {
    json = JSON.parse(data) as typeof json;
  } catch {
    return false;
  }
  if (json.error) {
    result.error = {
      message: String(json.error.message ?? "stream error"),
      code: json.error.code === undefined ? undefined : String(json.error.code),
      afterOutput: result.text.length > 0,
    };
    return true;
  }
  result.text += json.choices?.[0]?.delta?.content ?? "";
  return false;
}
