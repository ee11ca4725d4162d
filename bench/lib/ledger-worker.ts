/**
 * One OpenCode-like process for the multi-process ledger bench: the real engine (keys file, state file, ledger
 * chosen by ZAI_LEDGER / ZAI_REDIS_URL in its environment) driven by the OpenCode-like caller.
 * argv: <simulator url> <agents> <requests per agent> <model> [run for ms]. Prints "ready", waits for "go" on stdin,
 * runs, prints one JSON line {completed, failures, wallMs, limits}. With a duration, each agent goes on until it
 * has passed (the request count is ignored) and each answered request prints "ok <Date.now()>" as it completes.
 */
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

const [url = "", agentsArg = "10", requestsArg = "6", model = "glm-4.7", durationArg = "0"] = process.argv.slice(2);
const agents = Number(agentsArg);
const requests = Number(requestsArg);
const durationMs = Number(durationArg);
const warnings: string[] = [];
const engine = await createEngine(
  "zai-coding-plan",
  {
    clock: systemClock,
    random: systemRandom,
    fetch: (input, init) => globalThis.fetch(input, init),
    io: nodeConfigIO(process.env),
    sink: { toast() {}, log: ({ level, message }) => void (level === "warn" && warnings.push(message)) },
  },
  undefined,
);
const fetch = v1Fetch(engine);
const lines = createInterface({ input: process.stdin });
process.stdout.write(`ready ${engine.kind === "ready" ? engine.core.leases.ledgerKind : "none"}\n`);
await new Promise<void>((resolve) => lines.once("line", () => resolve()));

const controller = new AbortController();
setMaxListeners(0, controller.signal);
const body = chatBody(model);
let failures = 0;
let completed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: agents }, async () => {
    const more = (i: number) => (durationMs > 0 ? performance.now() - started < durationMs : i < requests);
    for (let i = 0; more(i); i++) {
      const outcome = await callLikeOpenCode(
        fetch,
        `${url}/chat/completions`,
        () => ({
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer oc-zai-multi-account-managed" },
          body,
        }),
        controller.signal,
        { onFailure: () => void failures++ },
      );
      if (outcome.kind !== "ok") continue;
      completed++;
      if (durationMs > 0) process.stdout.write(`ok ${Date.now()}\n`);
    }
  }),
);
const wallMs = performance.now() - started;
const limits = engine.kind === "ready" ? engine.core.limits.entries().map((e) => `${e.account}:${e.state.limit}`) : [];
process.stdout.write(`${JSON.stringify({ completed, failures, wallMs, limits, warnings })}\n`);
await engine.close();
lines.close();
process.exit(0);
