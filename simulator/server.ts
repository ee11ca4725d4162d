/** startSimulator: an HTTP server on 127.0.0.1 that behaves like Z.AI's coding endpoint. */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AccountRegistry } from "./accounts.js";
import { LateRelease } from "./close-notice.js";
import { authenticate } from "./admission.js";
import type { AdmissionContext } from "./admission.js";
import { handleChat, keyFrom } from "./chat.js";
import type { ChatContext } from "./chat.js";
import { ConcurrencyTracker } from "./concurrency.js";
import { resolveConfig } from "./config.js";
import { CONTROL_PREFIX, handleControl } from "./control.js";
import { FaultQueue } from "./faults.js";
import { modelList } from "./responses.js";
import { PromptCache } from "./prompt-cache.js";
import {
  parseQuotaControl,
  QUOTA_CONTROL_PATH,
  QUOTA_PATH,
  QuotaBook,
  type QuotaControl,
  type QuotaSnapshot,
} from "./quota.js";
import { sendError, sendJson } from "./respond.js";
import { StatsRecorder } from "./stats.js";
import type { CloseNotice, Fault, Simulator, SimulatorConfig, SimulatorStats, UsageWindow } from "./types.js";

export const CODING_BASE = "/api/coding/paas/v4";
export const GENERAL_BASE = "/api/paas/v4";

function readBody(req: IncomingMessage, done: (raw: string) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => done(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString()));
  req.on("error", () => undefined);
}

export async function startSimulator(config: SimulatorConfig): Promise<Simulator> {
  const resolved = resolveConfig(config);
  const registry = new AccountRegistry(resolved.accounts);
  const tracker = new ConcurrencyTracker();
  const faults = new FaultQueue();
  const stats = new StatsRecorder();
  const late = new LateRelease(config.closeNotice);
  const admission: AdmissionContext = {
    registry,
    tracker,
    revokedKeys: resolved.revokedKeys,
    models: new Set(resolved.models),
    unavailableModels: resolved.unavailableModels,
    now: resolved.now,
  };
  const quota = new QuotaBook(registry, resolved.now);
  let sequence = 0;
  const chat: ChatContext = {
    admission,
    faults,
    stats,
    timing: resolved.timing,
    nextId: () => `chatcmpl-sim-${++sequence}`,
    quota,
    promptCache: new PromptCache(),
    late,
  };

  const api = {
    setLimit: (account: string, model: string, limit: number): void => registry.setLimit(account, model, limit),
    setUsageWindow: (account: string, window: UsageWindow | null): void => registry.setUsageWindow(account, window),
    setQuota: (control: QuotaControl): void => quota.set(control),
    quota: (): Record<string, QuotaSnapshot> => quota.snapshot(),
    inject: (...list: Fault[]): void => list.forEach((fault) => faults.add(fault)),
    pendingFaults: (): Fault[] => faults.pending(),
    clearFaults: (): void => faults.clear(),
    setCloseNotice: (notice: CloseNotice | null): void => late.set(notice),
    stats: (): SimulatorStats => ({
      ...stats.snapshot(),
      inFlight: tracker.inFlight(),
      maxInFlight: tracker.maxInFlight(),
    }),
    resetStats: (): void => {
      stats.reset();
      tracker.resetMax();
    },
  };

  const route = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const path = (req.url ?? "/").split("?", 1)[0]!.replace(/\/+$/, "");
    const method = req.method ?? "GET";
    if (path === `${CODING_BASE}/chat/completions` || path === `${GENERAL_BASE}/chat/completions`) {
      if (method !== "POST") return sendError(res, 405, "405", "Method Not Allowed");
      return handleChat(chat, req, res, raw, path.startsWith(GENERAL_BASE));
    }
    if (path === `${CODING_BASE}/models` && method === "GET") {
      const account = authenticate(admission, keyFrom(req.headers));
      if ("kind" in account) return sendError(res, account.status, account.code, account.message);
      return sendJson(res, 200, modelList(resolved.models, Math.floor(resolved.now() / 1000)));
    }
    if (path === QUOTA_PATH && method === "GET")
      return sendJson(res, 200, quota.answer(admission, keyFrom(req.headers)));
    if (path === QUOTA_CONTROL_PATH) return quotaControl(res, method, raw);
    if (path.startsWith(`${CONTROL_PREFIX}/`)) {
      const answer = handleControl(api, method, path.slice(CONTROL_PREFIX.length), raw);
      return sendJson(res, answer.status, JSON.stringify(answer.body));
    }
    sendError(res, 404, "404", `Not Found: ${method} ${path}`);
  };

  const quotaControl = (res: ServerResponse, method: string, raw: string): void => {
    if (method === "GET") return sendJson(res, 200, JSON.stringify(quota.snapshot()));
    try {
      quota.set(parseQuotaControl(raw.trim() === "" ? undefined : JSON.parse(raw)));
      sendJson(res, 200, JSON.stringify({ ok: true }));
    } catch (error) {
      sendJson(
        res,
        error instanceof Error && error.name === "UnknownAccountError" ? 404 : 400,
        JSON.stringify({ error: String(error instanceof Error ? error.message : error) }),
      );
    }
  };

  const server = createServer((req, res) =>
    readBody(req, (raw) => {
      try {
        route(req, res, raw);
      } catch (error) {
        if (!res.headersSent) sendError(res, 500, "500", `simulator bug: ${String(error)}`);
        else res.destroy();
      }
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host;
  const origin = `http://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      late.flush();
    });
    return closing;
  };

  return { url: `${origin}${CODING_BASE}`, generalUrl: `${origin}${GENERAL_BASE}`, origin, port, ...api, close };
}
