/**
 * The agent workload of S1–S3: `agents` agents, each sending `requestsPerAgent` chat completions one after the
 * other through the OpenCode-like caller, all starting at once. Stops at `deadlineMs` (in-flight work is aborted
 * and not counted). Timed events (S3's limit changes) run at fixed offsets from the start.
 */
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { callLikeOpenCode } from "../baselines/opencode-caller.js";
import { REQUEST_ID_HEADER, type UpstreamLog } from "./upstream.js";

export interface Workload {
  agents: number;
  requestsPerAgent: number;
  deadlineMs: number;
  url: string;
  model: string;
  /** Run at `atMs` after the start (if the run is still going). */
  events?: ReadonlyArray<{ atMs: number; run(): void }>;
}

export interface Contender {
  name: string;
  fetch: typeof globalThis.fetch;
  /** The Authorization header the caller sends (the plugins replace it). */
  authorization: string;
  upstream: UpstreamLog;
}

export interface LoadResult {
  completed: number;
  total: number;
  /** All requests completed before the deadline. */
  finished: boolean;
  /** Until the last completion when finished, else the deadline. */
  wallMs: number;
  /** Failed answers the caller (OpenCode) saw: every one is a retry or a give-up there. */
  callerFailures: number;
  gaveUp: number;
  /** Per completed request: first call → start of the upstream attempt that served it. */
  queueWaits: number[];
}

const PROMPT = "Refactor the function below and explain the change. ".repeat(4);

export function chatBody(model: string): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: PROMPT }], stream: true });
}

export async function runLoad(contender: Contender, work: Workload): Promise<LoadResult> {
  const controller = new AbortController();
  const { signal } = controller;
  setMaxListeners(0, signal);
  const body = chatBody(work.model);
  const result: LoadResult = {
    completed: 0,
    total: work.agents * work.requestsPerAgent,
    finished: false,
    wallMs: 0,
    callerFailures: 0,
    gaveUp: 0,
    queueWaits: [],
  };
  const start = performance.now();
  let lastDone = start;
  const timers = [setTimeout(() => controller.abort(new Error("deadline")), work.deadlineMs)];
  for (const event of work.events ?? []) timers.push(setTimeout(() => signal.aborted || event.run(), event.atMs));

  const agent = async (a: number): Promise<void> => {
    for (let i = 0; i < work.requestsPerAgent && !signal.aborted; i++) {
      const id = `${a}-${i}`;
      const init = (): RequestInit => ({
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: contender.authorization,
          [REQUEST_ID_HEADER]: id,
        },
        body,
      });
      const called = performance.now();
      const outcome = await callLikeOpenCode(contender.fetch, work.url, init, signal, {
        onFailure: () => result.callerFailures++,
      });
      if (outcome.kind === "aborted") return;
      if (outcome.kind === "gave-up") {
        result.gaveUp++;
        continue;
      }
      result.completed++;
      lastDone = performance.now();
      const served = contender.upstream.servedStart(id);
      if (served !== undefined) result.queueWaits.push(served - called);
    }
  };
  await Promise.all(Array.from({ length: work.agents }, (_, a) => agent(a)));
  for (const timer of timers) clearTimeout(timer);
  result.finished = !signal.aborted && result.completed === result.total;
  result.wallMs = result.finished ? lastDone - start : Math.min(performance.now() - start, work.deadlineMs);
  controller.abort(new Error("done"));
  return result;
}
