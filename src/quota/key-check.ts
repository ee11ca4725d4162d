import type { ApiKey } from "../config/keys.js";
import type { Clock } from "../util/clock.js";
import { readQuota } from "./read-quota.js";

/** What `doctor` prints per key (the shape of cli/report.ts's Check, kept structural to stay out of src/cli). */
export interface KeyCheck {
  id: string;
  level: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
}

/**
 * Validates every key through the quota endpoint (it spends no tokens), one at a time; names keys by id only.
 * A refused key fails; an answer of unknown shape or no answer is a warning (the endpoint is undocumented).
 */
export async function quotaKeyChecks(keys: readonly ApiKey[], baseUrl: string, fetch: typeof globalThis.fetch, clock: Clock): Promise<KeyCheck[]> {
  const checks: KeyCheck[] = [];
  for (const key of keys) {
    const answer = await readQuota({ fetch, clock }, baseUrl, key.apiKey);
    const who = key.account === key.id ? `key ${key.id}` : `key ${key.id} (account ${key.account})`;
    switch (answer.kind) {
      case "reading": {
        const five = answer.reading.fiveHour ? `, 5-hour ${Math.round(answer.reading.fiveHour.percentage)}%` : "";
        const week = answer.reading.weekly ? `, weekly ${Math.round(answer.reading.weekly.percentage)}%` : "";
        checks.push({ id: "key", level: "ok", message: `${who}: valid (plan ${answer.reading.level ?? "unknown"}${five}${week})` });
        break;
      }
      case "bad-key":
        checks.push({ id: "key", level: "fail", message: `${who}: rejected by the quota endpoint (${answer.code})`, fix: `replace or remove key "${key.id}"` });
        break;
      case "unknown":
        checks.push({ id: "key", level: "warn", message: `${who}: could not tell (${answer.why})` });
        break;
      default:
        answer satisfies never;
    }
  }
  return checks;
}
