import { describe, expect, it } from "vitest";
import { releasingBody } from "../../src/fetch/release-on-end.js";
import { UsageTap, usageIn } from "../../src/fetch/usage-tap.js";
import type { Usage } from "../../src/quota/usage.js";

const encoder = new TextEncoder();

function streamOf(parts: readonly string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(encoder.encode(p));
      controller.close();
    },
  });
}

const frame = (data: object) => `data: ${JSON.stringify(data)}\n\n`;
const content = (text: string) => frame({ choices: [{ index: 0, delta: { content: text } }] });
const finish = frame({
  choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
  usage: {
    prompt_tokens: 1234,
    completion_tokens: 56,
    total_tokens: 1290,
    prompt_tokens_details: { cached_tokens: 1000 },
  },
});

describe("usage of an answer", () => {
  it("reads the last usage object of a JSON body", () => {
    expect(usageIn(JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 2 } }))).toEqual({
      promptTokens: 10,
      completionTokens: 2,
      cachedTokens: 0,
    });
    expect(usageIn('{"choices":[]}')).toBeUndefined();
  });

  it("sees a stream's usage in its last chunk as it passes, split anywhere, after many large chunks", async () => {
    const seen: Usage[] = [];
    const whole = [
      ...Array.from({ length: 50 }, (_, i) => content(`part ${i} `.repeat(100))),
      finish,
      "data: [DONE]\n\n",
    ].join("");
    // Cut into 7-byte pieces: the usage frame spans many chunks.
    const parts = whole.match(/[\s\S]{1,7}/g)!;
    const body = releasingBody([], streamOf(parts).getReader(), () => {}, undefined, new UsageTap((u) => seen.push(u)));
    const text = await new Response(body).text();
    expect(text).toBe(whole);
    expect(seen).toEqual([{ promptTokens: 1234, completionTokens: 56, cachedTokens: 1000 }]);
  });

  it("reports nothing for a stream cancelled before its end, or one without usage", async () => {
    const seen: Usage[] = [];
    const cut = releasingBody(
      [],
      streamOf([content("a"), finish]).getReader(),
      () => {},
      undefined,
      new UsageTap((u) => seen.push(u)),
    );
    const reader = cut.getReader();
    await reader.read();
    await reader.cancel();
    const plain = releasingBody(
      [],
      streamOf([content("a"), "data: [DONE]\n\n"]).getReader(),
      () => {},
      undefined,
      new UsageTap((u) => seen.push(u)),
    );
    await new Response(plain).text();
    expect(seen).toEqual([]);
  });
});
