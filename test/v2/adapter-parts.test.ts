import { describe, expect, it } from "vitest";
import { forHost, RetryNotes } from "../../src/hosts/v2-answers.js";
import { parseV2Options } from "../../src/hosts/v2-options.js";
import { guardUnread, Parking } from "../../src/hosts/v2-parking.js";
import { FakeClock } from "../helpers/fake-clock.js";

describe("2.x options", () => {
  it("defaults, and errors that name the option", () => {
    expect(parseV2Options(undefined, ["zai-coding-plan"])).toEqual({
      keysFile: undefined,
      providers: ["zai-coding-plan"],
      requestBudgetMs: 240_000,
      leaseTtlMs: 15_000,
      transport: "plugin",
    });
    expect(parseV2Options({ transport: "host" }, ["zai-coding-plan"]).leaseTtlMs).toBe(330_000);
    expect(() => parseV2Options({ providers: [] }, ["zai-coding-plan"])).toThrow(/"providers"/);
    expect(() => parseV2Options({ requestBudgetMs: 300_000 }, ["zai-coding-plan"])).toThrow(
      /"requestBudgetMs".*299999/,
    );
    expect(() => parseV2Options({ keysFile: 3 }, ["zai-coding-plan"])).toThrow(/"keysFile"/);
    expect(() => parseV2Options({ transport: "proxy" }, ["zai-coding-plan"])).toThrow(/"transport"/);
  });
});

describe("answers shown to the host", () => {
  const answer = (status: number, headers: Record<string, string>) => new Response("{}", { status, headers });
  it("plugin 4xx are final, plugin 429 carry their wait, upstream answers pass untouched", () => {
    expect(forHost(answer(403, { "x-zai-multi-account": "model_unavailable" })).note).toEqual({ final: true });
    const later = forHost(answer(429, { "x-zai-multi-account": "all_cooling", "retry-after-ms": "1234" }));
    expect(later.note).toEqual({ final: false, delayMs: 1234 });
    expect(later.response.headers.get("x-should-retry")).toBe("true");
    const upstream = answer(400, {});
    expect(forHost(upstream)).toEqual({ response: upstream, note: undefined });
  });

  it("retry notes are taken once and bounded", () => {
    const notes = new RetryNotes(2);
    notes.set("a", { final: true });
    notes.set("b", { final: true });
    notes.set("c", { final: false, delayMs: 5 });
    expect(notes.size).toBe(2);
    expect(notes.take("a")).toBeUndefined();
    expect(notes.take("c")).toEqual({ final: false, delayMs: 5 });
    expect(notes.take("c")).toBeUndefined();
  });
});

describe("parking and unread bodies", () => {
  it("an unclaimed entry expires after the TTL; a claimed one does not", () => {
    const clock = new FakeClock(0, { autoAdvance: false });
    const parking = new Parking<string>(clock, 1000);
    const expired: string[] = [];
    const kept = new Request("http://127.0.0.1/a");
    parking.park(kept, "kept", (v) => expired.push(v));
    parking.park(new Request("http://127.0.0.1/b"), "lost", (v) => expired.push(v));
    expect(parking.claim(kept)).toBe("kept");
    expect(parking.claim(kept)).toBeUndefined();
    clock.advance(999);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(["lost"]);
    expect(parking.size).toBe(0);
  });

  it("a body nobody reads is cancelled after the TTL; a body being read is not", async () => {
    const clock = new FakeClock(0, { autoAdvance: false });
    let cancelled = 0;
    const source = () =>
      new Response(
        new ReadableStream<Uint8Array>(
          { pull: (c) => c.enqueue(new TextEncoder().encode("x")), cancel: () => void cancelled++ },
          { highWaterMark: 0 },
        ),
      );
    let expired = 0;
    guardUnread(source(), clock, 1000, () => expired++);
    const read = guardUnread(source(), clock, 1000, () => expired++);
    const reader = read.body!.getReader();
    await reader.read();
    clock.advance(1000);
    await Promise.resolve();
    expect(expired).toBe(1);
    expect(cancelled).toBe(1);
  });
});
