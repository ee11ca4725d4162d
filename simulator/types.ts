/** Public types of the Z.AI coding-endpoint simulator. */

/** A rolling "5 hour" usage window: after `requests` admitted requests every request answers 429 1308. */
export interface UsageWindow {
  requests: number;
  /** Epoch ms, or a preformatted Beijing stamp "YYYY-MM-DD HH:MM:SS". Default: exhaustion time + 1 h. */
  resetAt?: string | number;
}

export interface SimulatorAccount {
  /** Account name (shows up in stats and in the `x-sim-account` response header). */
  id: string;
  /** API keys belonging to this account. They share its concurrency and usage quota. */
  keys: string[];
  /** Per-model concurrency cap, e.g. `{ "glm-4.7": 3 }`. */
  limits?: Record<string, number>;
  /** Cap for models not in `limits` (default 2). */
  defaultLimit?: number;
  /** Models this account's plan does not include: 429 code 1113. */
  unavailableModels?: string[];
  usageWindow?: UsageWindow;
  /** Coding Plan package expired: 429 code 1309. */
  expired?: boolean;
}

export interface SimulatorConfig {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  accounts: SimulatorAccount[];
  /** Keys answered with HTTP 401 code 1001 (they may also be listed under an account). */
  revokedKeys?: string[];
  /** Known models; others answer 400 code 1211. */
  models?: string[];
  /** Models answered with 429 code 1113 on every account. */
  unavailableModels?: string[];
  /** Time to the first SSE chunk (default 0). */
  latencyMs?: number;
  /** Content chunks per stream (default 3). */
  chunks?: number;
  /** Delay between frames after the first (default 0). */
  chunkDelayMs?: number;
  /** Alternative to `chunkDelayMs`: time from the first frame to the last, spread evenly. */
  durationMs?: number;
  /** Prefill time: the first frame comes this much later per 1,000 prompt tokens not cached (default 0). */
  prefillMsPer1kTokens?: number;
  /** Clock for usage-window stamps and hit times (default `Date.now`). Not settable from JSON. */
  now?: () => number;
  /**
   * Z.AI notices a closed client connection late: when the client goes away before the answer ended, the request
   * stays counted in flight for a random time in [minMs, maxMs] (seeded by `seed`). Default: freed at once.
   */
  closeNotice?: CloseNotice;
}

export interface CloseNotice {
  minMs: number;
  maxMs: number;
  /** Seed of the delay draws (default 1): the same seed gives the same sequence of delays. */
  seed?: number;
}

/** Which requests a fault applies to; every given field must equal the request's. */
export interface FaultMatch {
  key?: string;
  account?: string;
  model?: string;
}

interface FaultBase {
  match?: FaultMatch;
  /** How many matching requests consume this fault (default 1). */
  times?: number;
}

/** Plain status answer; JSON `{"error":{"code",...}}` body when `code` is given, else a text body. */
export interface StatusFault extends FaultBase {
  kind: "status";
  status: number;
  code?: string;
  message?: string;
  headers?: Record<string, string>;
}

/** Error JSON with a business code (status default 429). */
export interface HttpErrorFault extends FaultBase {
  kind: "http-error";
  status?: number;
  code: string;
  message?: string;
  headers?: Record<string, string>;
}

/** Destroy the socket before any response. */
export interface DropFault extends FaultBase {
  kind: "drop";
}

/** Send the 200 headers and one content chunk, then destroy the socket. */
export interface DropMidStreamFault extends FaultBase {
  kind: "drop-mid-stream";
}

/** 200 event-stream whose first event (after `afterChunks` content chunks, default 0) is an error. */
export interface SseErrorFault extends FaultBase {
  kind: "sse-error";
  code: string;
  message?: string;
  /** Precede the data line with `event: error`. */
  event?: boolean;
  afterChunks?: number;
  /** Line endings of the stream (default "lf"). */
  lineEnding?: "lf" | "cr" | "crlf";
}

/**
 * An error whose message quotes the request's key and `Authorization` header, whole and as fragments (a careless
 * gateway). `message` may use the placeholders of every fault message: {key}, {authorization}, {keyHead}, {keyTail},
 * {keyMiddle}; default: ECHO_KEY_MESSAGE. JSON error body when `code` is given, else a text body. Status default 500.
 */
export interface EchoKeyFault extends FaultBase {
  kind: "echo-key";
  status?: number;
  code?: string;
  message?: string;
}

/** An HTML gateway page (status default 200, `text/html`). `message` goes into its title and text. */
export interface HtmlFault extends FaultBase {
  kind: "html";
  status?: number;
  message?: string;
}

/**
 * A 200 answer cut mid-body by a reset: a JSON completion (with its full `content-length`) or an SSE stream cut
 * inside a frame. `fraction` (default 0.5) of the body's bytes are written, then the socket is destroyed.
 */
export interface CutBodyFault extends FaultBase {
  kind: "cut-body";
  fraction?: number;
}

/**
 * An error answer whose JSON body is cut short after `bytes` bytes (default: half). With `reset` the full
 * `content-length` is announced and the socket destroyed; without, the answer ends normally (invalid JSON).
 */
export interface TruncatedErrorFault extends FaultBase {
  kind: "truncated-error";
  status?: number;
  code: string;
  message?: string;
  bytes?: number;
  reset?: boolean;
}

/** A normal stream whose SSE lines end with CR only (or CRLF). */
export interface LineEndingsFault extends FaultBase {
  kind: "line-endings";
  ending: "cr" | "crlf";
}

/** Serve normally but end with this finish_reason (e.g. "network_error", "sensitive"). */
export interface FinishReasonFault extends FaultBase {
  kind: "finish-reason";
  reason: string;
}

export type Fault =
  | StatusFault
  | HttpErrorFault
  | DropFault
  | DropMidStreamFault
  | SseErrorFault
  | FinishReasonFault
  | EchoKeyFault
  | HtmlFault
  | CutBodyFault
  | TruncatedErrorFault
  | LineEndingsFault;

export type FaultKind = Fault["kind"];

export interface SimulatorHit {
  /** Epoch ms when the outcome was decided. */
  at: number;
  /** Key sent ("" when none). */
  key: string;
  account: string | null;
  model: string | null;
  /** HTTP status sent (0 for a dropped socket). */
  status: number;
  /** Business code sent (in the body or inside the stream), else null. */
  code: string | null;
  /** Kind of the injected fault applied, else null. */
  fault: FaultKind | null;
}

export type Counts = Record<string, number>;

export interface SimulatorStats {
  /** Chat-completion requests received (both endpoints). */
  requests: number;
  byKey: Counts;
  byAccount: Counts;
  /** Business codes, "200" for served, HTTP status for code-less faults, "drop" / "drop-mid-stream". */
  byCode: Counts;
  /** Successful answers written to the end. */
  completed: number;
  /** Requests whose client went away before the answer ended (their slot is freed late with `closeNotice`). */
  clientClosed: number;
  /** Current in-flight requests; (account, model) pairs at 0 are left out. */
  inFlight: Record<string, Counts>;
  /** High-water marks since start or the last reset. */
  maxInFlight: Record<string, Counts>;
  /** Authorization headers seen, in order (the latest 10,000). */
  authorizations: string[];
  /** Outcomes, in order (the latest 10,000). */
  hits: SimulatorHit[];
}

export interface Simulator {
  /** `http://127.0.0.1:PORT/api/coding/paas/v4` */
  readonly url: string;
  /** `http://127.0.0.1:PORT/api/paas/v4`: the general endpoint (answers coding keys with 1113). */
  readonly generalUrl: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly port: number;
  setLimit(account: string, model: string, limit: number): void;
  /** Replace an account's usage window (null removes it); the used count starts again at 0. */
  setUsageWindow(account: string, window: UsageWindow | null): void;
  /** Quota endpoint: an account's answer shape, plan level, 5-hour / weekly percentages (see quota.ts). */
  setQuota(control: import("./quota.js").QuotaControl): void;
  /** Per account: shape, level, percentages and how often its quota was read. */
  quota(): Record<string, import("./quota.js").QuotaSnapshot>;
  inject(...faults: Fault[]): void;
  /** Faults not yet consumed, `times` = remaining uses. */
  pendingFaults(): Fault[];
  clearFaults(): void;
  /** Replaces the late-notice of client closes (null: freed at once). */
  setCloseNotice(notice: CloseNotice | null): void;
  stats(): SimulatorStats;
  resetStats(): void;
  close(): Promise<void>;
}
