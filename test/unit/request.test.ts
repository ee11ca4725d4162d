import { describe, expect, it } from "vitest";
import { harness, keys, scriptedUpstream, sseOk } from "../helpers/scripted.js";

const URL_STRING = "https://api.z.ai/api/coding/paas/v4/chat/completions";
const BODY = JSON.stringify({ model: "glm-4.7", stream: true, messages: [] });

describe("zai fetch accepts every fetch input shape", () => {
  function setup() {
    const seen: Array<{ url: string; headers: Headers; body: string }> = [];
    const upstream = scriptedUpstream(() => sseOk());
    const recording = (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({
        url: String(url),
        headers: new Headers(init?.headers),
        body: typeof init?.body === "string" ? init.body : new TextDecoder().decode(init?.body as ArrayBuffer),
      });
      return upstream.fetch(url, init);
    }) as typeof fetch;
    const h = harness({ keys: keys("A:sk-a"), upstream: { fetch: recording, calls: upstream.calls } });
    return { h, seen };
  }

  it.each([
    [
      "a URL string with an object of headers",
      () => [
        URL_STRING,
        {
          method: "POST",
          headers: { "x-api-key": "old", authorization: "Bearer placeholder", "x-custom": "1" },
          body: BODY,
        },
      ],
    ],
    [
      "a URL object with a Headers instance",
      () => [
        new URL(URL_STRING),
        { method: "POST", headers: new Headers({ "x-api-key": "old", "x-custom": "1" }), body: BODY },
      ],
    ],
    [
      "an array of header pairs",
      () => [
        URL_STRING,
        {
          method: "POST",
          headers: [
            ["x-custom", "1"],
            ["Authorization", "Bearer other"],
          ],
          body: BODY,
        },
      ],
    ],
    [
      "a Request with its own body and headers",
      () => [
        new Request(URL_STRING, { method: "POST", headers: { "x-custom": "1", "x-api-key": "old" }, body: BODY }),
        undefined,
      ],
    ],
  ] as const)("%s", async (_name, args) => {
    const { h, seen } = setup();
    const [input, init] = args() as unknown as [string | URL | Request, RequestInit | undefined];
    const res = await h.fetch(input, init);
    expect(res).toBeInstanceOf(Response);
    expect(await res.text()).toContain("data:");
    expect(seen[0]?.url).toBe(URL_STRING);
    expect(seen[0]?.headers.get("authorization")).toBe("Bearer sk-a");
    expect(seen[0]?.headers.get("x-api-key")).toBeNull();
    expect(seen[0]?.headers.get("x-custom")).toBe("1");
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ model: "glm-4.7" });
  });

  it("re-sends the same body on a retry", async () => {
    const bodies: string[] = [];
    let n = 0;
    const upstream = scriptedUpstream(() => (++n === 1 ? new Response("down", { status: 503 }) : sseOk()));
    const recording = (async (url: string | URL | Request, init?: RequestInit) => {
      bodies.push(new TextDecoder().decode(init?.body as ArrayBuffer));
      return upstream.fetch(url, init);
    }) as typeof fetch;
    const h = harness({ keys: keys("A:sk-a", "B:sk-b"), upstream: { fetch: recording, calls: upstream.calls } });
    const stream = new Blob([BODY]).stream();
    const res = await h.fetch(URL_STRING, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.status).toBe(200);
    expect(bodies).toEqual([BODY, BODY]);
  });
});
