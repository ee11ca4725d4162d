import {
  createZaiFetch,
  keysFileSchema,
  Notifier,
  Redactor,
  type ApiKey,
  type FetchEvent,
  type KeysFileInput,
  type ProviderId,
} from "../../src/lib.js";
import { FakeClock } from "./fake-clock.js";
import { recordingSink } from "./sink.js";

export interface Call {
  key: string;
  url: string;
  model: string | undefined;
}

/** A stand-in upstream: `answer(call, n)` decides each answer; every call is recorded. */
export function scriptedUpstream(answer: (call: Call, n: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { model?: string }) : {};
    const call = {
      key: (headers.get("authorization") ?? "").replace(/^Bearer /, ""),
      url: String(url),
      model: body.model,
    };
    calls.push(call);
    return answer(call, calls.length);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

export const zaiError = (
  status: number,
  code: string,
  message = "upstream says no",
  headers: Record<string, string> = {},
) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
export const rateLimited1302 = () =>
  zaiError(429, "1302", "High concurrency usage of this API, please reduce concurrency");
export const usageLimit1308 = (stamp: string) =>
  zaiError(429, "1308", `Usage limit reached for 5 hour. Your limit will reset at ${stamp}`);
export const sseOk = (text = "hi") =>
  new Response(`data: {"choices":[{"delta":{"content":"${text}"}}]}\n\ndata: [DONE]\n\n`, {
    headers: { "content-type": "text/event-stream" },
  });
export const sseError = (code: string) =>
  new Response(`data: {"error":{"code":"${code}","message":"in-stream failure"}}\n\n`, {
    headers: { "content-type": "text/event-stream" },
  });

/** keys: "account/keyId:secret" strings. */
export function keys(...specs: string[]): ApiKey[] {
  return specs.map((spec) => {
    const [path = "", apiKey = ""] = spec.split(":");
    const [account = "", id = account] = path.split("/");
    return { id, label: id, apiKey, account, provider: "zai-coding-plan", source: "file" };
  });
}

export function harness(options: {
  keys: ApiKey[];
  upstream: ReturnType<typeof scriptedUpstream>;
  settings?: KeysFileInput;
  clock?: FakeClock;
  random?: () => number;
  provider?: ProviderId;
  rotationStart?: number;
}) {
  const clock = options.clock ?? new FakeClock();
  const { sink, toasts, logs } = recordingSink();
  const { keys: _k, $schema: _s, ...settings } = keysFileSchema.parse(options.settings ?? {});
  const events: FetchEvent[] = [];
  const notifier = new Notifier({
    clock,
    sink,
    redactor: new Redactor(options.keys.map((k) => k.apiKey)),
    toasts: true,
    intervalMs: 300_000,
  });
  const fetch = createZaiFetch({
    keys: options.keys,
    settings,
    clock,
    random: options.random ?? (() => 0.5),
    fetch: options.upstream.fetch,
    notifier,
    onEvent: (e) => events.push(e),
    ...(options.provider ? { provider: options.provider } : {}),
    ...(options.rotationStart !== undefined ? { rotationStart: options.rotationStart } : {}),
  });
  const call = (
    model = "glm-4.7",
    url = "https://api.z.ai/api/coding/paas/v4/chat/completions",
    init: RequestInit = {},
  ) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer placeholder" },
      body: JSON.stringify({ model, stream: true }),
      ...init,
    });
  return { fetch, call, clock, toasts, logs, events };
}
