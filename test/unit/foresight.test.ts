import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../src/config/keys.js";
import { keysFileSchema } from "../../src/config/schema.js";
import { Notifier, Redactor } from "../../src/lib.js";
import { KeyPool } from "../../src/pool/key-pool.js";
import { Foresight, type SlotView } from "../../src/routing/foresight.js";
import type { TaskQueue } from "../../src/quota/poller.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { recordingSink } from "../helpers/sink.js";

const URL = "http://127.0.0.1:9/api/coding/paas/v4/chat/completions";
const MODEL = "glm-4.7";
const key = (id: string, account: string): ApiKey => ({
  id,
  label: id,
  apiKey: `sk-${id}-0123456789abcdef`,
  account,
  provider: "zai-coding-plan",
  source: "file",
});
const KEYS = [key("a1", "a"), key("a2", "a"), key("b1", "b"), key("c1", "c")];
/** Runs quota reads at once. */
const direct: TaskQueue = { add: (task) => task(), clear: () => {} };

function rig(options: { settings?: object; percentage?: (account: string) => number; resetAt?: number } = {}) {
  const {
    keys: _k,
    $schema: _s,
    ...settings
  } = keysFileSchema.parse({ quota: { pollIntervalMs: 60_000 }, ...options.settings });
  const clock = new FakeClock(Date.UTC(2026, 10, 30, 8, 0, 0), { autoAdvance: false });
  const { sink, toasts } = recordingSink();
  const notifier = new Notifier({ clock, sink, redactor: new Redactor(), toasts: true, intervalMs: 0 });
  const pool = new KeyPool(KEYS);
  const inFlight = new Map<string, number>();
  const wakes: number[] = [];
  const slots: SlotView = {
    inFlight: (a) => inFlight.get(a) ?? 0,
    cap: () => 2,
    waiting: () => 0,
    wakeAt: (t) => void wakes.push(t),
  };
  const quotaFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization") ?? "";
    const account = KEYS.find((k) => auth.endsWith(k.apiKey))?.account ?? "?";
    const percentage = options.percentage?.(account) ?? 10;
    const limits = [
      {
        type: "TOKENS_LIMIT",
        unit: 3,
        number: 5,
        percentage,
        ...(options.resetAt ? { nextResetTime: options.resetAt } : {}),
      },
    ];
    return new Response(JSON.stringify({ code: 200, success: true, data: { level: "pro", limits } }), { status: 200 });
  }) as typeof globalThis.fetch;
  const foresight = new Foresight({ pool, slots, settings, clock, quotaFetch, notifier, queue: direct });
  return { clock, pool, toasts, foresight, inFlight, wakes };
}

const session = (id?: string) => new Headers(id ? { "x-session-affinity": id } : {});

describe("Foresight", () => {
  it("round-robin: each grant moves the start past the account that took it; `avoid` goes last", () => {
    const { foresight } = rig();
    const turn = foresight.turn(URL, session(), MODEL);
    expect(foresight.candidates(turn, new Set())).toEqual(["a", "b", "c"]);
    foresight.leased(turn, "a");
    expect(foresight.candidates(turn, new Set())).toEqual(["b", "c", "a"]);
    expect(foresight.candidates(turn, new Set(["b"]))).toEqual(["c", "a", "b"]);
    foresight.close();
  });

  it("a session stays on the account and key that served it while that key is usable", () => {
    const { foresight, pool, clock } = rig();
    const first = foresight.turn(URL, session("s1"), MODEL);
    foresight.served(first, KEYS[1]!);
    const next = foresight.turn(URL, session("s1"), MODEL);
    expect(foresight.candidates(next, new Set())[0]).toBe("a");
    expect(foresight.keyFor(next, "a")?.id).toBe("a2");
    expect(foresight.keyFor(next, "b")).toBeUndefined(); // another account: the pool rotates its keys
    pool.coolKey("a2", { until: clock.now() + 60_000, reason: "test", code: undefined });
    expect(foresight.keyFor(next, "a")).toBeUndefined();
    foresight.close();
  });

  it("leaves out an account past the quota threshold while another can serve", async () => {
    const { foresight } = rig({ percentage: (a) => (a === "a" ? 95 : 20) });
    const turn = foresight.turn(URL, session(), MODEL);
    await Promise.all(["a", "b", "c"].map((a) => foresight.poller.poll(a)));
    expect(foresight.candidates(turn, new Set())).toEqual(["b", "c"]);
    foresight.close();
  });

  it("a window read at 100% with a known reset cools the account until then, as a 1308 would", async () => {
    const { foresight, pool, toasts, wakes, clock } = rig({
      percentage: (a) => (a === "b" ? 100 : 10),
      resetAt: Date.UTC(2026, 10, 30, 10, 0, 0),
    });
    foresight.turn(URL, session(), MODEL);
    await foresight.poller.poll("b");
    const until = Date.UTC(2026, 10, 30, 10, 0, 0);
    expect(pool.state.accountCooldowns.get("b")).toMatchObject({
      until,
      code: "1308",
      reason: "5-hour usage window spent (quota endpoint: 100%)",
    });
    expect(wakes).toContain(until);
    expect(toasts.at(-1)?.message).toMatch(/^Account "b" used up its 5-hour usage window \(quota endpoint: 100%\)/);
    expect(pool.usableAccounts(MODEL, clock.now())).toEqual(["a", "c"]);
    foresight.close();
  });
});
