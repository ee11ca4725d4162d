/**
 * One OpenCode-like process for the L3 queue-depth bench: like ledger-worker.ts (the real engine, its ledger chosen
 * by ZAI_LEDGER / ZAI_REDIS_URL, driven by the OpenCode-like caller), and it records each request: when the caller
 * first sent it, and when the upstream attempt that was served started and ended, on which account (tracked with
 * AsyncLocalStorage through the engine down to the upstream fetch).
 * argv: <simulator url> <agents> <requests per agent> <model>. Prints "ready", waits for "go" on stdin, runs (until
 * done or a second line on stdin), prints one JSON line {completed, failures, wallMs, records: [arrival, start, end, account][]}.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { nodeConfigIO } from "../../src/config/node-io.js";
import { createEngine } from "../../src/engine/engine.js";
import { v1Fetch } from "../../src/hosts/opencode-v1.js";
import { systemClock } from "../../src/util/clock.js";
import { systemRandom } from "../../src/util/random.js";
import { callLikeOpenCode } from "../baselines/opencode-caller.js";
import { chatBody } from "./workload.js";

interface Record {
  arrival: number;
  start: number;
  end: number;
  account: string;
}

const [url = "", agentsArg = "10", requestsArg = "6", model = "glm-4.7"] = process.argv.slice(2);
const agents = Number(agentsArg);
const requests = Number(requestsArg);
const now = () => performance.timeOrigin + performance.now();
const current = new AsyncLocalStorage<Record>();

/** The upstream fetch: stamps the attempt on the request's record; a served one (200) keeps its times. */
async function upstream(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const record = current.getStore();
  const start = now();
  const response = await globalThis.fetch(input, init);
  if (!record || response.status !== 200 || !response.body) return response;
  const key =
    new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("authorization") ?? "";
  const account = /sk-(acct-[a-z]+)-/.exec(key)?.[1] ?? "?";
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        Object.assign(record, { start, end: now(), account });
        controller.close();
      } else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const engine = await createEngine(
  "zai-coding-plan",
  {
    clock: systemClock,
    random: systemRandom,
    fetch: upstream,
    io: nodeConfigIO(process.env),
    sink: { toast() {}, log() {} },
  },
  undefined,
);
const fetch = v1Fetch(engine);
const lines = createInterface({ input: process.stdin });
process.stdout.write(`ready ${engine.kind === "ready" ? engine.core.leases.ledgerKind : "none"}\n`);
await new Promise<void>((resolve) => lines.once("line", () => resolve()));

const controller = new AbortController();
setMaxListeners(0, controller.signal);
// A second line ("stop"): the bench's time is up; what is still waiting is given up.
lines.once("line", () => controller.abort());
const body = chatBody(model);
const records: Record[] = [];
let failures = 0;
let completed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: agents }, async () => {
    for (let i = 0; i < requests; i++) {
      const record: Record = { arrival: now(), start: 0, end: 0, account: "" };
      records.push(record);
      const init = () => ({
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer oc-zai-multi-account-managed" },
        body,
      });
      const call = () =>
        callLikeOpenCode(fetch, `${url}/chat/completions`, init, controller.signal, {
          onFailure: () => void failures++,
        });
      const outcome = await current.run(record, call);
      if (outcome.kind === "ok") completed++;
      if (controller.signal.aborted) return;
    }
  }),
);
const wallMs = performance.now() - started;
const rows = records.map((r) => [
  Math.round(r.arrival * 10) / 10,
  Math.round(r.start * 10) / 10,
  Math.round(r.end * 10) / 10,
  r.account,
]);
process.stdout.write(`${JSON.stringify({ completed, failures, wallMs, records: rows })}\n`);
await engine.close();
lines.close();
process.exit(0);
