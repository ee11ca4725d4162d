/** POST .../chat/completions: admission, fault injection, then the answer. Records every outcome. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { admit, admitGeneral } from "./admission.js";
import type { AdmissionContext, Rejection } from "./admission.js";
import type { Timing } from "./config.js";
import type { LateRelease } from "./close-notice.js";
import { ECHO_KEY_MESSAGE, expandMessage } from "./faults.js";
import type { FaultQueue } from "./faults.js";
import type { PromptCache } from "./prompt-cache.js";
import type { QuotaBook } from "./quota.js";
import { errorBody, messageFor } from "./responses.js";
import {
  cutBody,
  dropMidStream,
  sendError,
  sendHtml,
  sendPlainStatus,
  serveCompletion,
  sseError,
  truncatedError,
} from "./respond.js";
import type { Completion } from "./respond.js";
import { formatBeijingStamp } from "./stamp.js";
import type { StatsRecorder } from "./stats.js";
import type { Fault, FaultKind } from "./types.js";

const HOUR_MS = 60 * 60 * 1000;

export interface ChatContext {
  admission: AdmissionContext;
  faults: FaultQueue;
  stats: StatsRecorder;
  timing: Timing;
  nextId: () => string;
  /** Frees the slot of a request whose client went away, as late as Z.AI notices it. */
  late: LateRelease;
  quota?: QuotaBook;
  promptCache?: PromptCache;
}

export interface ChatBody {
  model: string | undefined;
  stream: boolean;
}

/** `Authorization: Bearer <key>` (or a bare value), else `x-api-key`; "" when neither. */
export function keyFrom(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization;
  if (auth !== undefined) return auth.replace(/^Bearer\s+/i, "").trim();
  const apiKey = headers["x-api-key"];
  return (Array.isArray(apiKey) ? apiKey[0] : apiKey)?.trim() ?? "";
}

export function parseChatBody(raw: string): ChatBody {
  try {
    const body: unknown = JSON.parse(raw);
    if (typeof body !== "object" || body === null) return { model: undefined, stream: false };
    const { model, stream } = body as Record<string, unknown>;
    return { model: typeof model === "string" && model !== "" ? model : undefined, stream: stream === true };
  } catch {
    return { model: undefined, stream: false };
  }
}

/** Message of a scripted business-code error, with a plausible reset stamp for 1308 / 1310. */
function faultMessage(code: string, message: string | undefined, now: number): string {
  if (message !== undefined) return message;
  if (code === "1310") return messageFor(code, formatBeijingStamp(now + 7 * 24 * HOUR_MS));
  return messageFor(code, formatBeijingStamp(now + HOUR_MS));
}

export function handleChat(
  ctx: ChatContext,
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
  general: boolean,
): void {
  const { admission, stats } = ctx;
  const key = keyFrom(req.headers);
  const body = parseChatBody(raw);
  const owner = key === "" ? null : (admission.registry.forKey(key)?.id ?? null);
  stats.request(key, owner, req.headers.authorization);

  const record = (status: number, code: string | null, label: string, fault: FaultKind | null = null): void => {
    const hit = { at: admission.now(), key, account: owner, model: body.model ?? null, status, code, fault };
    stats.outcome(hit, label);
  };
  const refuse = (r: Rejection): void => {
    record(r.status, r.code, r.code);
    sendError(res, r.status, r.code, r.message);
  };

  if (general) return refuse(admitGeneral(admission, key));
  const decision = admit(admission, { key, model: body.model });
  if (decision.kind === "reject") return refuse(decision);

  const { account, model } = decision;
  const fault = ctx.faults.take({ key, account: account.id, model });
  const selfClosing =
    fault !== undefined && SELF_CLOSING.has(fault.kind) && !(fault.kind === "truncated-error" && fault.reset !== true);
  res.once("close", () => {
    const release = (): void => admission.tracker.release(account.id, model);
    if (res.writableFinished || selfClosing) return release();
    stats.clientClosed();
    ctx.late.later(release);
  });
  const completion: Completion = {
    ctx: { id: ctx.nextId(), created: Math.floor(admission.now() / 1000), model },
    stream: body.stream,
    timing: timingFor(ctx.timing, req.headers["x-sim-duration-ms"]),
    promptTokens: Math.ceil(raw.length / 4),
    headers: { "x-sim-account": account.id },
    finishReason: fault?.kind === "finish-reason" ? fault.reason : "stop",
  };
  if (fault?.kind === "line-endings") completion.lineEnding = fault.ending;
  if (fault?.kind === "sse-error" && fault.lineEnding !== undefined) completion.lineEnding = fault.lineEnding;
  if (fault === undefined || fault.kind === "finish-reason" || fault.kind === "line-endings") {
    record(200, null, "200", fault?.kind ?? null);
    ctx.quota?.served(account.id);
    if (ctx.promptCache) completion.cachedTokens = ctx.promptCache.take(account.id, raw, completion.promptTokens);
    const prefill =
      ((completion.promptTokens - (completion.cachedTokens ?? 0)) / 1000) * (ctx.timing.prefillMsPer1kTokens ?? 0);
    if (prefill > 0) completion.timing = { ...completion.timing, latencyMs: completion.timing.latencyMs + prefill };
    res.once("finish", () => stats.completed());
    return serveCompletion(res, completion);
  }
  applyFault(ctx, req, res, completion, fault, record);
}

/** `x-sim-duration-ms` (a test's request header): this answer's frames spread over that many ms instead. */
function timingFor(timing: Timing, header: string | string[] | undefined): Timing {
  const ms = typeof header === "string" ? Number(header) : Number.NaN;
  return Number.isFinite(ms) && ms >= 0 ? { ...timing, gapMs: ms / Math.max(timing.chunks, 1) } : timing;
}

/** Faults after which the simulator itself closes the socket (it knows at once: no late notice). */
const SELF_CLOSING = new Set<FaultKind>(["drop", "drop-mid-stream", "cut-body", "truncated-error"]);

type RecordOutcome = (status: number, code: string | null, label: string, fault: FaultKind) => void;

function applyFault(
  ctx: ChatContext,
  req: IncomingMessage,
  res: ServerResponse,
  completion: Completion,
  fault: Exclude<Fault, { kind: "finish-reason" | "line-endings" }>,
  record: RecordOutcome,
): void {
  const now = ctx.admission.now();
  const key = keyFrom(req.headers);
  const echo = (text: string): string => expandMessage(text, key, req.headers.authorization, now);
  const message = (code: string, text: string | undefined): string => echo(faultMessage(code, text, now));
  switch (fault.kind) {
    case "status":
      if (fault.code === undefined) {
        record(fault.status, null, String(fault.status), fault.kind);
        return sendPlainStatus(
          res,
          fault.status,
          fault.headers,
          fault.message === undefined ? undefined : echo(fault.message),
        );
      }
      record(fault.status, fault.code, fault.code, fault.kind);
      return sendError(res, fault.status, fault.code, message(fault.code, fault.message), fault.headers);
    case "http-error": {
      const status = fault.status ?? 429;
      record(status, fault.code, fault.code, fault.kind);
      return sendError(res, status, fault.code, message(fault.code, fault.message), fault.headers);
    }
    case "echo-key": {
      const status = fault.status ?? 500;
      const text = echo(fault.message ?? ECHO_KEY_MESSAGE);
      record(status, fault.code ?? null, fault.code ?? String(status), fault.kind);
      if (fault.code === undefined) return sendPlainStatus(res, status, undefined, text);
      return sendError(res, status, fault.code, text);
    }
    case "html": {
      const status = fault.status ?? 200;
      record(status, null, `html-${status}`, fault.kind);
      return sendHtml(res, status, echo(fault.message ?? "502 Bad Gateway"));
    }
    case "cut-body":
      record(200, null, "cut-body", fault.kind);
      return cutBody(res, completion, fault.fraction ?? 0.5);
    case "truncated-error": {
      const status = fault.status ?? 429;
      const body = errorBody(fault.code, message(fault.code, fault.message));
      record(status, fault.code, `truncated-${fault.code}`, fault.kind);
      return truncatedError(res, status, body, fault.bytes ?? Math.floor(body.length / 2), fault.reset === true);
    }
    case "drop":
      record(0, null, "drop", fault.kind);
      req.socket.destroy();
      return;
    case "drop-mid-stream":
      record(200, null, "drop-mid-stream", fault.kind);
      return dropMidStream(res, completion);
    case "sse-error":
      record(200, fault.code, fault.code, fault.kind);
      return sseError(res, completion, {
        code: fault.code,
        message: message(fault.code, fault.message),
        event: fault.event === true,
        afterChunks: fault.afterChunks ?? 0,
      });
    default:
      return fault satisfies never;
  }
}
