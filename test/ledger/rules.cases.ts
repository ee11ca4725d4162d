/**
 * The grant rules, written once: each row is a sequence of operations on one model's slots and the grants each
 * operation makes; rules.test.ts runs every row against the in-process slot table, the machine coordinator (over a
 * socket) and the Redis scripts (against a real redis-server). LIMIT_CASES: which published limit a store takes.
 *
 * A row's waiters belong to process 1 or 2 (`p`). A cap is a process's per account (Redis keeps one per process and
 * account), so within a row one process asks every waiter with the same caps. `at` is the first arrival (wall clock),
 * `seq` the order inside the process; a retried request keeps both.
 */
import type { LimitState } from "../../src/limits/adaptive-limit.js";

export type RuleStep =
  | { acquire: string; p?: 1 | 2; cands: string[]; cap: Record<string, number>; at: number; seq: number }
  | { release: string }
  | { cancel: string };

export interface RuleCase {
  name: string;
  /** Limits published before the steps (account → limit): no grant exceeds them, whatever a waiter's cap. */
  limits?: Record<string, number>;
  /** Each step with the grants it makes, as "waiter@account" (in any order). */
  steps: Array<{ step: RuleStep; grants: string[] }>;
}

const A1 = { A: 1 };
const AB1 = { A: 1, B: 1 };

export const RULE_CASES: RuleCase[] = [
  {
    name: "a free slot is granted at once; a full pair queues",
    steps: [
      { step: { acquire: "w1", cands: ["A"], cap: A1, at: 1, seq: 1 }, grants: ["w1@A"] },
      { step: { acquire: "w2", cands: ["A"], cap: A1, at: 2, seq: 2 }, grants: [] },
    ],
  },
  {
    name: "first come first served: the freed slot goes to the earliest waiter",
    steps: [
      { step: { acquire: "h", cands: ["A"], cap: A1, at: 1, seq: 1 }, grants: ["h@A"] },
      { step: { acquire: "w1", p: 2, cands: ["A"], cap: A1, at: 2, seq: 1 }, grants: [] },
      { step: { acquire: "w2", cands: ["A"], cap: A1, at: 3, seq: 2 }, grants: [] },
      { step: { release: "h" }, grants: ["w1@A"] },
      { step: { release: "w1" }, grants: ["w2@A"] },
    ],
  },
  {
    name: "a retry keeps its place: an earlier first arrival goes first across processes, whatever the order of acquires",
    steps: [
      { step: { acquire: "h", cands: ["A"], cap: A1, at: 1, seq: 1 }, grants: ["h@A"] },
      { step: { acquire: "late", cands: ["A"], cap: A1, at: 30, seq: 2 }, grants: [] },
      { step: { acquire: "retried", p: 2, cands: ["A"], cap: A1, at: 10, seq: 1 }, grants: [] },
      { step: { release: "h" }, grants: ["retried@A"] },
      { step: { release: "retried" }, grants: ["late@A"] },
    ],
  },
  {
    name: "inside one process, arrival order (seq) decides",
    steps: [
      { step: { acquire: "h", cands: ["A"], cap: A1, at: 1, seq: 1 }, grants: ["h@A"] },
      { step: { acquire: "second", cands: ["A"], cap: A1, at: 5, seq: 3 }, grants: [] },
      { step: { acquire: "first", cands: ["A"], cap: A1, at: 5, seq: 2 }, grants: [] },
      { step: { release: "h" }, grants: ["first@A"] },
    ],
  },
  {
    name: "a waiter takes its first candidate with room, in its order of preference",
    steps: [
      { step: { acquire: "w1", cands: ["B", "A"], cap: AB1, at: 1, seq: 1 }, grants: ["w1@B"] },
      { step: { acquire: "w2", cands: ["B", "A"], cap: AB1, at: 2, seq: 2 }, grants: ["w2@A"] },
      { step: { acquire: "w3", cands: ["A", "B"], cap: AB1, at: 3, seq: 3 }, grants: [] },
      { step: { release: "w1" }, grants: ["w3@B"] },
    ],
  },
  {
    name: "a waiter that cannot use the freed account lets a later one that can take it",
    steps: [
      { step: { acquire: "ha", cands: ["A"], cap: AB1, at: 1, seq: 1 }, grants: ["ha@A"] },
      { step: { acquire: "hb", cands: ["B"], cap: AB1, at: 2, seq: 2 }, grants: ["hb@B"] },
      { step: { acquire: "onlyA", cands: ["A"], cap: AB1, at: 3, seq: 3 }, grants: [] },
      { step: { acquire: "either", p: 2, cands: ["A", "B"], cap: AB1, at: 4, seq: 1 }, grants: [] },
      { step: { release: "hb" }, grants: ["either@B"] },
      { step: { release: "ha" }, grants: ["onlyA@A"] },
    ],
  },
  {
    name: "a newcomer whose account is free is granted though others wait for another",
    steps: [
      { step: { acquire: "ha", cands: ["A"], cap: AB1, at: 1, seq: 1 }, grants: ["ha@A"] },
      { step: { acquire: "wa", cands: ["A"], cap: AB1, at: 2, seq: 2 }, grants: [] },
      { step: { acquire: "nb", p: 2, cands: ["B"], cap: AB1, at: 3, seq: 1 }, grants: ["nb@B"] },
    ],
  },
  {
    name: "never above the latest published limit, whatever cap a waiter was sent with",
    limits: { A: 1 },
    steps: [
      { step: { acquire: "w1", cands: ["A"], cap: { A: 3 }, at: 1, seq: 1 }, grants: ["w1@A"] },
      { step: { acquire: "w2", cands: ["A"], cap: { A: 3 }, at: 2, seq: 2 }, grants: [] },
      { step: { release: "w1" }, grants: ["w2@A"] },
    ],
  },
  {
    name: "a cap of two admits two at once; the third waits",
    steps: [
      { step: { acquire: "w1", cands: ["A"], cap: { A: 2 }, at: 1, seq: 1 }, grants: ["w1@A"] },
      { step: { acquire: "w2", cands: ["A"], cap: { A: 2 }, at: 2, seq: 2 }, grants: ["w2@A"] },
      { step: { acquire: "w3", cands: ["A"], cap: { A: 2 }, at: 3, seq: 3 }, grants: [] },
      { step: { release: "w2" }, grants: ["w3@A"] },
    ],
  },
  {
    name: "a cancelled waiter is skipped",
    steps: [
      { step: { acquire: "h", cands: ["A"], cap: A1, at: 1, seq: 1 }, grants: ["h@A"] },
      { step: { acquire: "gone", cands: ["A"], cap: A1, at: 2, seq: 2 }, grants: [] },
      { step: { acquire: "next", p: 2, cands: ["A"], cap: A1, at: 3, seq: 1 }, grants: [] },
      { step: { cancel: "gone" }, grants: [] },
      { step: { release: "h" }, grants: ["next@A"] },
    ],
  },
];

const state = (limit: number, epoch: number, probeFrom?: number): LimitState => ({
  limit,
  ceiling: 10,
  streak: 0,
  epoch,
  confirmed: limit,
  probeFrom,
  probeAfter: 20,
  recoverTo: undefined,
  changedAt: 0,
});

export interface LimitCase {
  name: string;
  /** Stored before (none: nothing known yet). */
  known: LimitState | undefined;
  incoming: LimitState;
  taken: boolean;
}

/** Which published limit replaces the known one (acceptsLimit): the same in every store and in Limits.replace. */
export const LIMIT_CASES: LimitCase[] = [
  { name: "the first one known", known: undefined, incoming: state(4, 1), taken: true },
  { name: "a lower one, from a later epoch", known: state(4, 2), incoming: state(3, 3), taken: true },
  { name: "the same level, same epoch (a proof)", known: state(4, 2, 3), incoming: state(4, 2), taken: true },
  { name: "one step higher from a later epoch (a try)", known: state(3, 2), incoming: state(4, 3, 3), taken: true },
  { name: "one step higher from the same epoch (stale)", known: state(3, 2), incoming: state(4, 2), taken: false },
  {
    name: "two steps higher (a process still on its configured limit)",
    known: state(3, 2),
    incoming: state(10, 5),
    taken: false,
  },
  {
    name: "one below at the same epoch (a process that joined during a try)",
    known: state(4, 2, 3),
    incoming: state(3, 2),
    taken: false,
  },
];
