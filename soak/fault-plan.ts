/**
 * The faults of the soak's fault phase, drawn from a seeded generator: the k-th upstream request the simulator
 * admits gets the k-th entry ("none" entries serve normally). Weights are per mille of upstream requests.
 */
import { ECHO_KEY_MESSAGE } from "../simulator/faults.js";
import type { Fault } from "../simulator/types.js";

/** A no-op entry: serves normally (the queue has no "nothing" entry). */
const NONE: Fault = { kind: "finish-reason", reason: "stop" };

const WEIGHTED: ReadonlyArray<readonly [number, Fault]> = [
  [20, { kind: "drop" }], // reset before headers
  [15, { kind: "drop-mid-stream" }],
  [15, { kind: "cut-body" }], // JSON cut mid-body, or a stream cut inside a frame
  [15, { kind: "status", status: 500, code: "500" }],
  [10, { kind: "status", status: 502 }],
  [8, { kind: "status", status: 503, message: "upstream connect error for {authorization}" }],
  [10, { kind: "html" }], // a 200 gateway page
  [6, { kind: "html", status: 502 }],
  [20, { kind: "http-error", code: "1302" }], // spurious 1302
  [15, { kind: "sse-error", code: "1302" }], // in-stream 1302 as the first event
  [10, { kind: "sse-error", code: "1305", afterChunks: 1 }], // in-stream error after content
  [10, { kind: "sse-error", code: "1305", event: true, lineEnding: "cr" }],
  [
    4,
    {
      kind: "sse-error",
      code: "1308",
      message: "Usage limit reached for 5 hour. Your limit will reset at {resetIn:2}",
    },
  ],
  [15, { kind: "http-error", code: "1305" }],
  [8, { kind: "http-error", code: "1303", headers: { "retry-after": "1" } }],
  [10, { kind: "truncated-error", code: "1302" }],
  [8, { kind: "truncated-error", code: "1305", status: 500, reset: true }],
  [20, { kind: "line-endings", ending: "cr" }],
  [5, { kind: "line-endings", ending: "crlf" }],
  [20, { kind: "echo-key", status: 500, code: "1234" }], // key-echoing transient errors
  [8, { kind: "echo-key", status: 429, code: "1305", message: `overloaded; ${ECHO_KEY_MESSAGE}` }],
  [6, { kind: "sse-error", code: "1234", message: ECHO_KEY_MESSAGE }],
  [10, { kind: "finish-reason", reason: "network_error" }],
];

const FAULTY = WEIGHTED.reduce((n, [w]) => n + w, 0);

/** `count` entries; about FAULTY per mille of them are faults. */
export function faultPlan(random: () => number, count: number): Fault[] {
  const out: Fault[] = [];
  for (let i = 0; i < count; i++) {
    let draw = random() * 1000;
    let picked = NONE;
    if (draw < FAULTY) {
      for (const [weight, fault] of WEIGHTED) {
        if (draw < weight) {
          picked = fault;
          break;
        }
        draw -= weight;
      }
    }
    out.push(picked);
  }
  return out;
}

/** Once, on account delta: an invalid key whose 401 echoes it, then the account locked (1112) with an echo. */
export const DELTA_FAULTS: Fault[] = [
  { kind: "echo-key", status: 401, code: "1001", match: { account: "delta" } },
  { kind: "echo-key", status: 403, code: "1112", match: { account: "delta" } },
];

export const FAULT_RATE_PER_MILLE = FAULTY;
