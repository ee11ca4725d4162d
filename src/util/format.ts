/** "1h 05m", "42 s", "850 ms": a wait as people read it. */
export function formatWait(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** A moment in the user's local time: "14:32:05", with the date when it is not today. */
export function formatLocalTime(epochMs: number, now: number): string {
  const at = new Date(epochMs);
  const time = at.toLocaleTimeString(undefined, { hourCycle: "h23" });
  return at.toDateString() === new Date(now).toDateString() ? time : `${at.toLocaleDateString()} ${time}`;
}
