/** Z.AI states reset times without a zone; they are Beijing time (UTC+8), which has no daylight saving. */
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/**
 * Epoch ms of the reset stamp in a 1308/1310 message ("Your limit will reset at 2026-09-09 05:38:28"),
 * or undefined when the message holds none. A stamp with an explicit zone (Z, +08:00) is honoured as given.
 */
export function parseResetTime(message: string): number | undefined {
  const match = /(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?/.exec(message);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, , zone] = match;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  if (Number.isNaN(utc)) return undefined;
  if (zone === undefined) return utc - BEIJING_OFFSET_MS;
  if (zone === "Z") return utc;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.replace(/[+:-]/g, "");
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return utc - sign * offset;
}
