import { classify, classifyNetworkError } from "../classify/classify.js";
import { parseSseError, parseUpstreamError, type UpstreamError } from "../classify/parse.js";
import type { Verdict } from "../classify/verdict.js";
import type { KeyPool } from "../pool/key-pool.js";
import { parseRetryAfter } from "../retry/retry-after.js";
import { CLOSED_EARLY, OUTCOMES, type AnswerRead, type LeaseOutcome } from "../classify/outcomes.js";
import type { Lease, ReleaseEffect } from "../leases/leases.js";
import { abortReason, type Clock } from "../util/clock.js";
import type { Redactor } from "../util/redact.js";
import type { Answers } from "./answers.js";
import { releasingBody } from "./release-on-end.js";
import { peekFirstEvent } from "./sse-peek.js";
import { UsageTap, usageIn, type Usage } from "./usage-tap.js";

/** What the upstream gave for one attempt: a response, or the error its fetch threw. */
export type Upstream = Response | { error: unknown };

/** An upstream answer, examined: hand it to the caller, or a failure to react to. The lease is settled either way. */
export type Examined =
  | { kind: "deliver"; status: number; response: Response }
  | { kind: "failure"; status: number; verdict: Verdict; release: ReleaseEffect };

export interface InspectDeps {
  clock: Clock;
  pool: KeyPool;
  redactor: Redactor;
  answers: Answers;
  /** What a served answer used (its `usage`), once its body was read whole. */
  onUsage?: (usage: Usage) => void;
}

/**
 * Classifies one upstream answer (status, business code in the body, errors inside a 200 SSE stream or JSON body,
 * HTML pages sent with a 200, bodies cut by a reset) and ends the attempt's lease as src/classify/outcomes.ts says
 * (a delivered stream's lease ends with the stream).
 */
export async function inspect(
  deps: InspectDeps,
  lease: Lease,
  url: string,
  signal: AbortSignal | undefined,
  upstream: Upstream,
): Promise<Examined> {
  if ("error" in upstream) return broken(deps, lease, signal, upstream.error);
  const response = upstream;
  const type = (response.headers.get("content-type") ?? "").toLowerCase();

  if (!response.ok) {
    let text = "";
    let read: AnswerRead = "error-status";
    try {
      text = deps.redactor.redact(await response.text());
    } catch {
      read = "error-body-cut"; // a body cut short still has a status to classify
    }
    const parsed = parseUpstreamError(text);
    const verdict = classify({
      ...parsed,
      status: response.status,
      retryAfterMs: parseRetryAfter(response.headers, deps.clock.now()),
      url,
    });
    if (verdict.kind === "pass") {
      lease.release(OUTCOMES.pass.lease);
      return { kind: "deliver", status: response.status, response: deps.answers.rebuilt(response, text) };
    }
    return failed(deps, lease, response.status, verdict, read);
  }

  if (!response.body) return served(deps, lease, response.status, response, true);

  if (type.includes("text/event-stream")) {
    let peek: Awaited<ReturnType<typeof peekFirstEvent>>;
    try {
      peek = await peekFirstEvent(response.body);
    } catch (error) {
      return broken(deps, lease, signal, error);
    }
    if (peek.kind === "error")
      return failed(deps, lease, response.status, inBodyVerdict(peek.error, url), "stream-error-at-start");
    return served(
      deps,
      lease,
      response.status,
      respond(response, peek.chunks, peek.reader, lease, signal, deps),
      false,
    );
  }

  if (type.includes("json")) {
    // Not streamed: small, so it is read whole. A body cut by a reset is retried before any byte reaches the caller.
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      return broken(deps, lease, signal, error);
    }
    if (!isCompleteJson(text))
      return failed(
        deps,
        lease,
        response.status,
        unusable("a JSON body cut short (connection reset mid-body)"),
        "json-cut",
      );
    const error = parseSseError(text);
    if (error?.code !== undefined) return failed(deps, lease, response.status, inBodyVerdict(error, url), "json-error");
    const usage = deps.onUsage && usageIn(text);
    if (usage) deps.onUsage?.(usage);
    const headers = decodedHeaders(response.headers);
    return served(
      deps,
      lease,
      response.status,
      new Response(text, { status: response.status, statusText: response.statusText, headers }),
      true,
    );
  }

  if (type.includes("text/html")) {
    await response.body.cancel().catch(() => {});
    const page = unusable(
      `an HTML page with status ${response.status} instead of an API answer (a gateway or proxy in the way?)`,
    );
    return failed(deps, lease, response.status, page, "html-page");
  }
  return served(
    deps,
    lease,
    response.status,
    respond(response, [], response.body.getReader(), lease, signal, deps),
    false,
  );
}

/** A failure: the lease ends as the outcome table says, kept for the cancel grace when the read closed early. */
function failed(deps: InspectDeps, lease: Lease, status: number, verdict: Verdict, read: AnswerRead): Examined {
  const release = lease.release(OUTCOMES[verdict.kind].lease, CLOSED_EARLY[read]);
  return { kind: "failure", status, verdict: clean(verdict, deps.redactor), release };
}

/** No answer, or a body that broke while read: the caller went away (cancelled), or the connection broke. */
function broken(deps: InspectDeps, lease: Lease, signal: AbortSignal | undefined, error: unknown): Examined {
  if (signal?.aborted) {
    lease.release("cancelled");
    throw abortReason(signal);
  }
  return failed(deps, lease, 0, classifyNetworkError(error), "no-answer");
}

/** A success: the pair admitted one more, the model is available there. `ended`: nothing left to stream. */
function served(deps: InspectDeps, lease: Lease, status: number, response: Response, ended: boolean): Examined {
  lease.admitted();
  deps.pool.markServed(lease.account, lease.model);
  if (ended) lease.release(OUTCOMES.ok.lease);
  return { kind: "deliver", status, response };
}

function respond(
  upstream: Response,
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  lease: Lease,
  signal: AbortSignal | undefined,
  deps: InspectDeps,
): Response {
  const tap = deps.onUsage && new UsageTap(deps.onUsage);
  const body = releasingBody(head, reader, (outcome: LeaseOutcome) => lease.release(outcome), signal, tap);
  return new Response(body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: decodedHeaders(upstream.headers),
  });
}

/** The body is handed on decoded: its original encoding and length no longer describe it. */
function decodedHeaders(headers: Headers): Headers {
  if (!headers.has("content-encoding") && !headers.has("content-length")) return headers;
  const out = new Headers(headers);
  out.delete("content-encoding");
  out.delete("content-length");
  return out;
}

/**
 * An error inside a 200 body (SSE frame or JSON): the same code as an HTTP status means the same thing, so it is
 * classified with the status Z.AI uses for it (429 for the rate and quota family). Unknown codes fail the request.
 */
function inBodyVerdict(error: UpstreamError, url: string): Verdict {
  const status = error.code === undefined ? 500 : 429;
  const verdict = classify({ ...error, status, retryAfterMs: undefined, url });
  if (verdict.kind === "ok" || verdict.kind === "pass" || verdict.kind === "key-rate-limited") {
    if (error.code === undefined) return unusable(error.message || "an error event in the stream");
    return { kind: "fatal", code: error.code, message: error.message, reason: "unknown-model" };
  }
  return verdict;
}

function unusable(message: string): Verdict {
  return { kind: "transient", code: "upstream_unusable", message, retryAfterMs: undefined, accountWide: false };
}

function isCompleteJson(text: string): boolean {
  if (text.trim() === "") return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function clean(verdict: Verdict, redactor: Redactor): Verdict {
  return "message" in verdict ? { ...verdict, message: redactor.redact(verdict.message) } : verdict;
}
