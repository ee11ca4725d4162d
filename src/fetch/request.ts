/** One outgoing request, normalized from whatever `fetch(input, init)` was given, re-sendable on retry. */
export interface OutgoingRequest {
  url: string;
  method: string;
  headers: Headers;
  /** Buffered once so every attempt sends the same bytes. */
  body: string | ArrayBuffer | undefined;
  signal: AbortSignal | undefined;
  /** The model named in a JSON body, if any. */
  model: string | undefined;
  /** Everything else the caller passed in init (kept for the upstream fetch). */
  rest: Omit<RequestInit, "method" | "headers" | "body" | "signal">;
}

/** Accepts a URL string, URL or Request, with headers as an object, Headers or array of pairs. */
export async function normalizeRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<OutgoingRequest> {
  const request =
    typeof input === "object" && "url" in input && typeof (input as Request).clone === "function"
      ? (input as Request)
      : undefined;
  const url = request ? request.url : input instanceof URL ? input.href : String(input);
  const headers = new Headers(request ? request.headers : init?.headers);
  if (request && init?.headers) for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
  const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
  const body = await bufferBody(init?.body ?? (request?.body ? request : undefined));
  const signal = init?.signal ?? request?.signal ?? undefined;
  const { method: _m, headers: _h, body: _b, signal: _s, ...rest } = init ?? {};
  return { url, method, headers, body, signal, model: modelOf(body), rest };
}

async function bufferBody(body: BodyInit | Request | null | undefined): Promise<string | ArrayBuffer | undefined> {
  if (body === null || body === undefined) return undefined;
  if (typeof body === "string") return body;
  if (body instanceof ArrayBuffer) return body;
  if (body instanceof Request) return body.arrayBuffer();
  return new Response(body).arrayBuffer();
}

const LEADING_MODEL = /^\s*\{\s*"model"\s*:\s*"([^"\\]{1,200})"/;

/** The `model` of a JSON body. The AI SDK writes it first, so a prefix match avoids parsing large bodies. */
export function modelOf(body: string | ArrayBuffer | undefined): string | undefined {
  if (body === undefined) return undefined;
  const text = typeof body === "string" ? body : new TextDecoder().decode(body);
  const leading = LEADING_MODEL.exec(text.slice(0, 300));
  if (leading) return leading[1];
  if (!text.trimStart().startsWith("{")) return undefined;
  try {
    const model = (JSON.parse(text) as { model?: unknown }).model;
    return typeof model === "string" && model.length > 0 ? model : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Headers for one attempt: the chosen key as Bearer; any incoming credential dropped. Changes `headers` in place:
 * they belong to this request, whose attempts run one after another.
 */
export function withKey(headers: Headers, apiKey: string): Headers {
  headers.delete("x-api-key");
  headers.set("authorization", `Bearer ${apiKey}`);
  return headers;
}
