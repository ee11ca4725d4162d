import type { StateIds } from "../state/ids.js";
import { formatLocalTime, formatWait } from "../util/format.js";
import type { QuotaFile } from "./quota-file.js";
import type { QuotaWindow } from "./reading.js";

/** An account's last quota reading as `status` shows it (JSON: ISO times). */
export interface QuotaStatus {
  level: string | undefined;
  fiveHour: WindowStatus | undefined;
  weekly: WindowStatus | undefined;
  readAt: string;
  /** Live sessions the account held when it was read. */
  sessions: number;
}
export interface WindowStatus {
  percent: number;
  resetAt: string | undefined;
}

/** Pure: the reading stored for `account` (by its state-file name), if any. */
export function quotaStatus(file: QuotaFile, provider: string, account: string, ids: StateIds): QuotaStatus | undefined {
  const entry = file.providers[provider]?.[ids.storedAccount(account)];
  if (!entry) return undefined;
  const { reading } = entry;
  return { level: reading.level, fiveHour: windowStatus(reading.fiveHour), weekly: windowStatus(reading.weekly), readAt: iso(reading.at), sessions: entry.sessions };
}

/** "plan pro; 5-hour 42% (resets 17:38:28); weekly 30% (resets 02.12.2026 00:00:00); read 12:01:05 (3 min ago); 2 sessions" */
export function quotaLine(q: QuotaStatus, now: number): string {
  const parts = [`plan ${q.level ?? "unknown"}`];
  if (q.fiveHour) parts.push(`5-hour ${windowText(q.fiveHour, now)}`);
  if (q.weekly) parts.push(`weekly ${windowText(q.weekly, now)}`);
  const readAt = Date.parse(q.readAt);
  parts.push(`read ${formatLocalTime(readAt, now)} (${formatWait(Math.max(0, now - readAt))} ago)`);
  parts.push(`${q.sessions} live session${q.sessions === 1 ? "" : "s"}`);
  return `quota: ${parts.join("; ")}`;
}

function windowText(w: WindowStatus, now: number): string {
  const percent = `${Math.round(w.percent)}%`;
  return w.resetAt === undefined ? percent : `${percent} (resets ${formatLocalTime(Date.parse(w.resetAt), now)})`;
}

function windowStatus(w: Pick<QuotaWindow, "percentage"> & { resetAt?: number | undefined } | undefined): WindowStatus | undefined {
  return w === undefined ? undefined : { percent: Math.round(w.percentage * 10) / 10, resetAt: w.resetAt === undefined ? undefined : iso(w.resetAt) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
