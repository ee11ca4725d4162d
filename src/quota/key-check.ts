import type { ApiKey } from "../config/keys.js";
import type { Clock } from "../util/clock.js";
import type { ToastVariant } from "../notify/notifier.js";
import { fingerprint } from "../util/redact.js";
import { readQuota, type ReadQuotaDeps } from "./read-quota.js";

/** What `doctor` prints per key (the shape of cli/report.ts's Check, kept structural to stay out of src/cli). */
export interface KeyCheck {
  id: string;
  level: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
}

/** One key's answer from the quota endpoint, named by position, id and fingerprint only (never the key). */
export type KeyResult = { position: number; id: string; account: string; fingerprint: string } & (
  | { result: "ok"; level?: string | undefined; fiveHour?: number | undefined; weekly?: number | undefined }
  | { result: "refused"; code: string }
  | { result: "unknown"; why: string }
);

/** Reads every key's quota once, one at a time (it spends no tokens). Never throws: no answer is `unknown`. */
export async function checkKeys(keys: readonly ApiKey[], baseUrl: string, deps: ReadQuotaDeps): Promise<KeyResult[]> {
  const results: KeyResult[] = [];
  for (const [index, key] of keys.entries()) {
    const answer = await readQuota(deps, baseUrl, key.apiKey);
    const who = { position: index + 1, id: key.id, account: key.account, fingerprint: fingerprint(key.apiKey) };
    switch (answer.kind) {
      case "reading": {
        const { level, fiveHour, weekly } = answer.reading;
        results.push({ ...who, result: "ok", level, fiveHour: fiveHour?.percentage, weekly: weekly?.percentage });
        break;
      }
      case "bad-key":
        results.push({ ...who, result: "refused", code: answer.code });
        break;
      case "unknown":
        results.push({ ...who, result: "unknown", why: answer.why });
        break;
      default:
        answer satisfies never;
    }
  }
  return results;
}

/** Pure: "key 1 (login-1): plan pro, 5-hour 12%, weekly 3%"; "key 2 (login-2, fp 3f1c9a0b): refused (401)". */
export function keyResultText(r: KeyResult): string {
  const who = r.account === r.id ? `key ${r.position} (${r.id}` : `key ${r.position} (${r.id}, account ${r.account}`;
  switch (r.result) {
    case "ok":
      return `${who}): ${planText(r)}`;
    case "refused":
      return `${who}, fp ${r.fingerprint}): refused by Z.AI (${r.code})`;
    case "unknown":
      return `${who}): could not check (${r.why})`;
    default:
      return r satisfies never;
  }
}

/** "plan pro, 5-hour 12%, weekly 3%". */
function planText(r: Extract<KeyResult, { result: "ok" }>): string {
  const five = r.fiveHour === undefined ? "" : `, 5-hour ${Math.round(r.fiveHour)}%`;
  const week = r.weekly === undefined ? "" : `, weekly ${Math.round(r.weekly)}%`;
  return `plan ${r.level ?? "unknown"}${five}${week}`;
}

/** Pure: the one toast after a check. An error when a key was refused; "could not check" is only a warning. */
export function keyCheckToast(results: readonly KeyResult[]): { message: string; variant: ToastVariant } {
  const refused = results.filter((r) => r.result === "refused").length;
  const unknown = results.filter((r) => r.result === "unknown").length;
  const head =
    refused > 0
      ? `${refused} of ${results.length} key(s) refused`
      : unknown > 0
        ? `${results.length - unknown} of ${results.length} key(s) checked, ${unknown} could not be checked ` +
          "(no answer; checked again at the next start)"
        : `${results.length} key(s) checked`;
  const variant = refused > 0 ? "error" : unknown > 0 ? "warning" : "success";
  return { message: `${head}: ${results.map(keyResultText).join("; ")}`, variant };
}

/**
 * `doctor`: validates every key through the quota endpoint (it spends no tokens); names keys by id only.
 * A refused key fails; an answer of unknown shape or no answer is a warning (the endpoint is undocumented).
 */
export async function quotaKeyChecks(
  keys: readonly ApiKey[],
  baseUrl: string,
  fetch: typeof globalThis.fetch,
  clock: Clock,
): Promise<KeyCheck[]> {
  const results = await checkKeys(keys, baseUrl, { fetch, clock });
  return results.map((r): KeyCheck => {
    const who = r.account === r.id ? `key ${r.id}` : `key ${r.id} (account ${r.account})`;
    switch (r.result) {
      case "ok":
        return { id: "key", level: "ok", message: `${who}: valid (${planText(r)})` };
      case "refused":
        return {
          id: "key",
          level: "fail",
          message: `${who}: rejected by the quota endpoint (${r.code})`,
          fix: `replace or remove key "${r.id}"`,
        };
      case "unknown":
        return { id: "key", level: "warn", message: `${who}: could not tell (${r.why})` };
      default:
        return r satisfies never;
    }
  });
}
