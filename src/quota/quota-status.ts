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
  /** The reading moved on to now at the pace it moved lately (issue 18); absent without a pace. */
  projectedPercent?: number;
  /** When that projection reaches the quota threshold (before the reset), at the same pace. */
  crossesThresholdAt?: string;
}

/** Pure: the reading stored for `account` (by its state-file name), if any. */
export function quotaStatus(
  file: QuotaFile,
  provider: string,
  account: string,
  ids: StateIds,
  projection?: { threshold: number; now: number },
): QuotaStatus | undefined {
  const entry = file.providers[provider]?.[ids.storedAccount(account)];
  if (!entry) return undefined;
  const { reading } = entry;
  const at = (w: WindowStatus | undefined, pace: number | undefined) =>
    w && projection ? projected(w, pace, reading.at, projection.threshold, projection.now) : w;
  return {
    level: reading.level,
    fiveHour: at(windowStatus(reading.fiveHour), entry.pace?.fiveHour),
    weekly: at(windowStatus(reading.weekly), entry.pace?.weekly),
    readAt: iso(reading.at),
    sessions: entry.sessions,
  };
}

/**
 * Pure: a window with its projection now (`readAt` + pace in points per minute) and when that reaches `threshold`
 * (0–1), before the window resets. Unchanged without a pace or past its reset.
 */
export function projected(
  w: WindowStatus,
  pace: number | undefined,
  readAt: number,
  threshold: number,
  now: number,
): WindowStatus {
  const resetAt = w.resetAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(w.resetAt);
  if (pace === undefined || resetAt <= now) return w;
  const percent = Math.min(100, w.percent + (pace * Math.max(0, now - readAt)) / 60_000);
  const out: WindowStatus = { ...w, projectedPercent: Math.round(percent * 10) / 10 };
  const limit = threshold * 100;
  if (pace > 0 && w.percent < limit) {
    const crosses = readAt + ((limit - w.percent) / pace) * 60_000;
    if (crosses < resetAt) out.crossesThresholdAt = iso(crosses);
  }
  return out;
}

/**
 * "plan pro; 5-hour 42% (resets 17:38:28); weekly 30% (resets 02.12.2026 00:00:00);
 * read 12:01:05 (3 min ago); 2 sessions"
 */
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
  const percent = `${Math.round(w.percent)}%${projectionText(w, now)}`;
  return w.resetAt === undefined ? percent : `${percent} (resets ${formatLocalTime(Date.parse(w.resetAt), now)})`;
}

/** " → ~47% now, threshold at 15:20:00" (issue 18): the projection, when the reading has a pace. */
export function projectionText(w: WindowStatus, now: number): string {
  if (w.projectedPercent === undefined) return "";
  const at = w.crossesThresholdAt === undefined ? undefined : Date.parse(w.crossesThresholdAt);
  const crosses = at === undefined ? "" : `, threshold ${at <= now ? "passed" : "at"} ${formatLocalTime(at, now)}`;
  return ` → ~${Math.round(w.projectedPercent)}% now${crosses}`;
}

function windowStatus(
  w: (Pick<QuotaWindow, "percentage"> & { resetAt?: number | undefined }) | undefined,
): WindowStatus | undefined {
  return w === undefined
    ? undefined
    : { percent: Math.round(w.percentage * 10) / 10, resetAt: w.resetAt === undefined ? undefined : iso(w.resetAt) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
