/**
 * An OpenCode-like caller around the plugin's fetch: sends the request the way OpenCode does, reads the answer,
 * and retries what OpenCode retries (408, 409, 429, 5xx, network errors, a stream that ends without [DONE]),
 * honouring retry-after-ms / retry-after, else 2 s doubling, all time-compressed by COMPRESS so the soak stays short.
 * A request can be cancelled (reader.cancel) or aborted (AbortController) by the caller, as a user pressing Esc.
 */
import { setTimeout as delay } from "node:timers/promises";

export type Cancel = "none" | "reader-cancel" | "abort-mid-stream" | "abort-any-time";

export interface Plan {
  id: number;
  model: string;
  stream: boolean;
  cancel: Cancel;
  /** For abort-any-time: ms after the first call. */
  abortAfterMs: number;
}

export type Ending = "answered" | "given-back" | "cancelled" | "aborted";

export interface Settled {
  ending: Ending;
  attempts: number;
  /** Why it was given back (plugin error code, status or last failure). */
  reason: string;
}

export interface CallerHooks {
  /** Everything the caller (OpenCode) saw: status line, headers, body text, error messages. */
  saw(where: string, text: string): void;
  /** A 200 whose body could not be used, by kind: "html", "json cut", "json unusable", "stream cut after content". */
  broken200(kind: string): void;
}

const COMPRESS = 0.1;
const MAX_TRIES = 8;
const MAX_WAIT_MS = 2_000;

export function retryDelay(attempt: number, headers: Headers | undefined): number {
  const ms = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  const seconds = Number(headers?.get("retry-after") ?? Number.NaN);
  const wait = Number.isFinite(ms) ? ms : Number.isFinite(seconds) ? seconds * 1000 : 2000 * 2 ** (attempt - 1);
  return Math.min(MAX_WAIT_MS, Math.max(0, wait * COMPRESS));
}

const retryable = (status: number) =>
  status === 0 || status === 408 || status === 409 || status === 429 || status >= 500;

export async function callLikeOpenCode(
  fetch: typeof globalThis.fetch,
  url: string,
  plan: Plan,
  hooks: CallerHooks,
): Promise<Settled> {
  const body = JSON.stringify({
    model: plan.model,
    messages: [{ role: "user", content: `soak request ${plan.id}` }],
    stream: plan.stream,
    ...(plan.stream ? { stream_options: { include_usage: true } } : {}),
  });
  const controller = new AbortController();
  const timer =
    plan.cancel === "abort-any-time"
      ? setTimeout(() => controller.abort(new Error("user pressed Esc")), plan.abortAfterMs)
      : undefined;
  let last = "";
  try {
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      if (controller.signal.aborted) return { ending: "aborted", attempts: attempt - 1, reason: "aborted" };
      const outcome = await once(fetch, url, body, plan, controller, hooks);
      if (outcome.kind === "done") return { ...outcome.settled, attempts: attempt };
      last = outcome.detail;
      if (!retryable(outcome.status)) return { ending: "given-back", attempts: attempt, reason: outcome.detail };
      try {
        await delay(retryDelay(attempt, outcome.headers), undefined, { signal: controller.signal });
      } catch {
        return { ending: "aborted", attempts: attempt, reason: "aborted" };
      }
    }
    return { ending: "given-back", attempts: MAX_TRIES, reason: `caller gave up after ${MAX_TRIES} tries: ${last}` };
  } finally {
    clearTimeout(timer);
  }
}

type Once =
  | { kind: "done"; settled: Omit<Settled, "attempts"> }
  | { kind: "failed"; status: number; headers?: Headers; detail: string };

async function once(
  fetch: typeof globalThis.fetch,
  url: string,
  body: string,
  plan: Plan,
  controller: AbortController,
  hooks: CallerHooks,
): Promise<Once> {
  const { signal } = controller;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer oc-zai-multi-account-managed",
        "user-agent": "opencode/soak",
      },
      body,
      signal,
    });
  } catch (error) {
    hooks.saw("fetch error", `${String(error)} ${String((error as Error).cause ?? "")}`);
    if (signal.aborted) return { kind: "done", settled: { ending: "aborted", reason: "aborted" } };
    return { kind: "failed", status: 0, detail: `network: ${String(error)}` };
  }
  hooks.saw(
    "response headers",
    `${response.status} ${response.statusText}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`,
  );
  const code = response.headers.get("x-zai-multi-account");
  let text = "";
  let stop: Ending | undefined;
  try {
    ({ text, stop } = await readBody(response, plan, controller));
    hooks.saw("body", text);
  } catch (error) {
    hooks.saw("body error", String(error));
    if (signal.aborted) return { kind: "done", settled: { ending: "aborted", reason: "aborted" } };
    if (response.ok) hooks.broken200(brokenKind(response, plan, true));
    return {
      kind: "failed",
      status: response.ok ? 0 : response.status,
      headers: response.headers,
      detail: `body error: ${String(error)}`,
    };
  }
  if (stop !== undefined) return { kind: "done", settled: { ending: stop, reason: stop } };
  if (!response.ok)
    return {
      kind: "failed",
      status: response.status,
      headers: response.headers,
      detail: code ?? `${response.status} ${text.slice(0, 80)}`,
    };
  if (usable(text, plan.stream)) return { kind: "done", settled: { ending: "answered", reason: "ok" } };
  hooks.broken200(brokenKind(response, plan, false));
  return { kind: "failed", status: 0, detail: "200 without a usable body" };
}

/** Reads the whole body, or cancels/aborts it after the first chunk when the plan says so. */
async function readBody(
  response: Response,
  plan: Plan,
  controller: AbortController,
): Promise<{ text: string; stop?: Ending }> {
  if (response.body === null) return { text: "" };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    chunks++;
    if (response.ok && chunks === 1 && plan.cancel === "reader-cancel") {
      await reader.cancel(new Error("user pressed Esc"));
      return { text, stop: "cancelled" };
    }
    if (response.ok && chunks === 1 && plan.cancel === "abort-mid-stream") {
      controller.abort(new Error("user pressed Esc"));
      await reader.read().catch(() => undefined);
      return { text, stop: "aborted" };
    }
  }
  return { text: text + decoder.decode() };
}

function brokenKind(response: Response, plan: Plan, cut: boolean): string {
  if ((response.headers.get("content-type") ?? "").includes("html")) return "html";
  if (!plan.stream) return cut ? "json cut" : "json unusable";
  return cut ? "stream cut after content" : "stream ended without [DONE]";
}

function usable(text: string, stream: boolean): boolean {
  if (stream) return text.includes("[DONE]");
  try {
    const parsed = JSON.parse(text) as { choices?: unknown[] };
    return Array.isArray(parsed.choices) && parsed.choices.length > 0;
  } catch {
    return false;
  }
}
