import { classify, classifyNetworkError } from "../classify/classify.js";
import { parseUpstreamError } from "../classify/parse.js";
import type { Verdict } from "../classify/verdict.js";
import type { ApiKey } from "../config/keys.js";
import { formatLocalTime, formatWait } from "../util/format.js";
import { redact } from "../util/redact.js";
import type { Level } from "./report.js";

/** What one probe (one key, one model) found. */
export interface ProbeResult {
  key: string;
  account: string;
  model: string;
  level: Level;
  /** The short answer: ok, 401, 1113, 1302, or other. */
  result: "ok" | "401" | "1113" | "1302" | "other";
  status: number;
  code: string | undefined;
  message: string;
  fix?: string;
}

export const PROBE_NOTE = "Probing sends one tiny request (max_tokens 1) per key and model: it spends a little quota.";
const PROBE_TIMEOUT_MS = 30_000;

export function probeBody(model: string): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: "ping" }], max_tokens: 1, stream: false });
}

/** Sends one probe per key and model, one at a time. Messages are scrubbed of key material. */
export async function runProbes(
  keys: readonly ApiKey[],
  models: readonly string[],
  baseURL: string,
  fetch: typeof globalThis.fetch,
  now: () => number,
  keysFile: string,
): Promise<ProbeResult[]> {
  const url = `${baseURL.replace(/\/+$/, "")}/chat/completions`;
  const secrets = keys.map((k) => k.apiKey);
  const results: ProbeResult[] = [];
  for (const key of keys) {
    for (const model of models) {
      let status = 0;
      let verdict: Verdict;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${key.apiKey}`, "content-type": "application/json" },
          body: probeBody(model),
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        });
        status = response.status;
        const text = await response.text().catch(() => "");
        const parsed = response.ok ? { code: undefined, message: "" } : parseUpstreamError(text);
        verdict = classify({ ...parsed, status, retryAfterMs: undefined, url });
      } catch (error) {
        verdict = classifyNetworkError(error);
      }
      const result = probeResult(key, model, status, verdict, now(), keysFile);
      results.push({ ...result, message: redact(result.message, secrets) });
    }
  }
  return results;
}

/** Pure: what a probe's verdict means for the user. */
export function probeResult(
  key: Pick<ApiKey, "id" | "account" | "source">,
  model: string,
  status: number,
  verdict: Verdict,
  now: number,
  keysFile: string,
): ProbeResult {
  const base = { key: key.id, account: key.account, model, status };
  const code = "code" in verdict ? verdict.code : undefined;
  const said = "message" in verdict && verdict.message ? `: ${verdict.message}` : "";
  const where =
    key.source === "file" ? ` in ${keysFile}` : key.source === "env" ? " in the environment" : " in OpenCode auth";
  switch (verdict.kind) {
    case "ok":
      return { ...base, level: "ok", result: "ok", code, message: `answered (${status})` };
    case "key-invalid":
      return {
        ...base,
        level: "fail",
        result: "401",
        code,
        message: `key rejected (${code ?? status}${said})`,
        fix: `replace or remove key "${key.id}"${where}`,
      };
    case "model-unavailable":
      return verdict.wrongEndpoint
        ? {
            ...base,
            level: "fail",
            result: "1113",
            code,
            message: `wrong endpoint (${code}${said})`,
            fix: "use the Coding Plan endpoint .../api/coding/paas/v4",
          }
        : {
            ...base,
            level: "warn",
            result: "1113",
            code,
            message: `${model} is not in this account's plan (${code}${said}); other accounts may serve it`,
          };
    case "concurrency":
      return {
        ...base,
        level: "warn",
        result: "1302",
        code,
        message: `the key works; the account is at its concurrency limit right now (${code})`,
      };
    case "usage-window": {
      const reset =
        verdict.resetAt === undefined
          ? ""
          : `; resets ${formatLocalTime(verdict.resetAt, now)} (in ${formatWait(verdict.resetAt - now)})`;
      return {
        ...base,
        level: "warn",
        result: "other",
        code,
        message: `the key works; the account's usage window is spent (${code})${reset}`,
      };
    }
    case "account-unusable":
      return {
        ...base,
        level: "fail",
        result: "other",
        code,
        message: `account unusable (${code}${said})`,
        fix: `check the subscription of account "${key.account}" on z.ai`,
      };
    case "transient":
      if (status === 0) {
        return {
          ...base,
          level: "fail",
          result: "other",
          code,
          message: `no answer${said}`,
          fix: "check the network and the baseURL",
        };
      }
      return {
        ...base,
        level: "warn",
        result: "other",
        code,
        message: `could not tell: ${status}${code ? ` ${code}` : ""}${said}`,
      };
    case "key-rate-limited":
      return {
        ...base,
        level: "warn",
        result: "other",
        code,
        message: `could not tell: ${status}${code ? ` ${code}` : ""}${said}`,
      };
    case "fatal":
      return {
        ...base,
        level: "fail",
        result: "other",
        code,
        message: `${code}${said}`,
        ...(verdict.reason === "unknown-model" ? { fix: `check the model id (\`opencode models\` lists them)` } : {}),
      };
    case "pass":
      return {
        ...base,
        level: "fail",
        result: "other",
        code,
        message: `unexpected answer ${status}${code ? ` ${code}` : ""}`,
      };
    default:
      return verdict satisfies never;
  }
}
