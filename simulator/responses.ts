/** Bodies the simulator sends: Z.AI error JSON, OpenAI chat-completion JSON and SSE frames. */

const MESSAGES: Readonly<Record<string, string>> = Object.freeze({
  "500": "Internal Error",
  "1000": "Authentication Failed",
  "1001": "Token expired or incorrect",
  "1210": "Invalid API parameter, please check the documentation.",
  "1211": "Unknown Model, please check the model code",
  "1113": "Insufficient balance or no resource package. Please recharge.",
  "1234": "Network error, please try again later",
  "1302":
    "High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits",
  "1303": "High frequency usage of this API, please reduce frequency or contact customer service to increase limits",
  "1305": "The service may be temporarily overloaded, please try again later",
  "1309": "Your GLM Coding Plan package has expired, please renew to continue.",
  "1311": "Your current plan does not include access to this model.",
  "1313":
    "Your account's current usage pattern does not comply with the Fair Usage Policy. Your access has been restricted.",
});

/** The canonical message for a business code. `stamp` fills the reset time of 1308 / 1310. */
export function messageFor(code: string, stamp?: string): string {
  if (code === "1308") return `Usage limit reached for 5 hour. Your limit will reset at ${stamp ?? ""}`.trimEnd();
  if (code === "1310") {
    return `Weekly/Monthly Limit Exhausted. Your limit will reset at ${stamp ?? ""}`.trimEnd();
  }
  return MESSAGES[code] ?? `Error ${code}`;
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export interface CompletionContext {
  id: string;
  /** Epoch seconds. */
  created: number;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

const BASE_PIECES = ["Hello", " from", " sim"] as const;

/** Content pieces of a stream: "Hello", " from", " sim", " chunk 4", " chunk 5", ... */
export function contentPieces(count: number): string[] {
  return Array.from({ length: count }, (_, i) => BASE_PIECES[i] ?? ` chunk ${i + 1}`);
}

export function usageFor(promptTokens: number, pieces: readonly string[], cachedTokens?: number): Usage {
  const completion = pieces.length;
  const usage: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
  };
  if (cachedTokens !== undefined) usage.prompt_tokens_details = { cached_tokens: cachedTokens };
  return usage;
}

export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";

export function sseErrorFrame(code: string, message: string, withEvent: boolean): string {
  return `${withEvent ? "event: error\n" : ""}data: ${errorBody(code, message)}\n\n`;
}

function chunk(ctx: CompletionContext, delta: Record<string, string>, finish: string | null): object {
  return {
    id: ctx.id,
    object: "chat.completion.chunk",
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

export function contentFrame(ctx: CompletionContext, content: string, first: boolean): string {
  return sseData(chunk(ctx, first ? { role: "assistant", content } : { content }, null));
}

/** The finish chunk (with usage) followed by `[DONE]`. */
export function finishFrames(ctx: CompletionContext, usage: Usage, finishReason: string): string {
  return sseData({ ...chunk(ctx, {}, finishReason), usage }) + SSE_DONE;
}

/** Every frame of a stream: one per content piece, then finish + [DONE] as the last element. */
export function streamFrames(
  ctx: CompletionContext,
  pieces: readonly string[],
  usage: Usage,
  finishReason = "stop",
): string[] {
  const frames = pieces.map((piece, i) => contentFrame(ctx, piece, i === 0));
  frames.push(finishFrames(ctx, usage, finishReason));
  return frames;
}

export function completionBody(
  ctx: CompletionContext,
  pieces: readonly string[],
  usage: Usage,
  finishReason = "stop",
): string {
  return JSON.stringify({
    id: ctx.id,
    object: "chat.completion",
    created: ctx.created,
    model: ctx.model,
    choices: [{ index: 0, message: { role: "assistant", content: pieces.join("") }, finish_reason: finishReason }],
    usage,
  });
}

export function modelList(models: readonly string[], created: number): string {
  return JSON.stringify({
    object: "list",
    data: models.map((id) => ({ id, object: "model", created, owned_by: "z-ai" })),
  });
}
