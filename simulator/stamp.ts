/** Z.AI reset stamps: Beijing time (UTC+8), "YYYY-MM-DD HH:MM:SS", no zone marker. */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export function formatBeijingStamp(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");
}

/** A configured `resetAt` as a stamp: epoch ms are formatted, strings are taken as written. */
export function resetStamp(resetAt: string | number): string {
  return typeof resetAt === "number" ? formatBeijingStamp(resetAt) : resetAt;
}
