import { createColors } from "picocolors";
import { formatLocalTime, formatWait } from "../util/format.js";
import type { WatchAccount, WatchModel, WatchPair, WatchWindow } from "./watch-model.js";

export interface RenderOptions {
  /** Terminal width; every line is cut to it (default 80). */
  width?: number;
  /** ANSI colours (only on a TTY without NO_COLOR: the caller decides). */
  color?: boolean;
  /** The footer line (how to quit). */
  footer?: string;
}

type Colors = ReturnType<typeof createColors>;
type Line = { text: string; paint?: ((s: string) => string) | undefined };

/** Pure: one frame of `status --watch` as lines, each at most `width` characters before colouring. */
export function renderWatch(model: WatchModel, options: RenderOptions = {}): string[] {
  const width = Math.max(40, options.width ?? 80);
  const c = createColors(options.color ?? false);
  const lines: Line[] = [
    { text: `${model.provider} · ${formatLocalTime(model.now, model.now)} · ${model.ledger}`, paint: c.bold },
  ];
  if (model.accounts.length === 0) lines.push({ text: "no keys configured (`doctor` says why)", paint: c.yellow });
  for (const account of model.accounts) lines.push({ text: "" }, ...accountLines(account, model.now, width, c));
  lines.push({ text: "" }, { text: "last events", paint: c.bold });
  if (model.events.length === 0) lines.push({ text: "  none", paint: c.dim });
  for (const e of model.events) {
    lines.push({ text: `  ${formatLocalTime(e.at, model.now)}  ${e.text}`, paint: eventPaint(e.text, c) });
  }
  if (options.footer) lines.push({ text: "" }, { text: options.footer, paint: c.dim });
  return lines.map(({ text, paint }) => {
    const cut = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    return paint ? paint(cut) : cut;
  });
}

function accountLines(a: WatchAccount, now: number, width: number, c: Colors): Line[] {
  const plan = a.plan ? `  plan ${a.plan}` : "";
  const lines: Line[] = [{ text: `${a.account}  ${a.state}${plan}`, paint: a.usable ? c.green : c.yellow }];
  if (a.pairs.length === 0) lines.push({ text: "  nothing in flight", paint: c.dim });
  for (const p of a.pairs) lines.push(pairLine(p, c));
  for (const w of a.windows) lines.push(windowLine(w, now, width, c));
  return lines;
}

function pairLine(p: WatchPair, c: Colors): Line {
  const limit = `${p.inFlight}/${p.limit}${p.learned ? " (learned)" : ""}`;
  const waiting = p.queued > 0 ? `, ${p.queued} waiting` : "";
  const holders = p.holders.length > 0 ? `  ${p.holders.join(" ")}` : "";
  const full = p.inFlight >= p.limit;
  const text = `  ${p.model.padEnd(14)} ${bar(p.inFlight, p.limit, 8)} ${limit} in flight${waiting}${holders}`;
  return { text, paint: full ? c.yellow : undefined };
}

function windowLine(w: WatchWindow, now: number, width: number, c: Colors): Line {
  const barWidth = width >= 80 ? 20 : 10;
  const left = w.resetAt === undefined ? 0 : Math.max(0, w.resetAt - now);
  const reset = w.resetAt === undefined ? "" : ` resets ${formatLocalTime(w.resetAt, now)} (in ${formatWait(left)})`;
  const projected = w.projected === undefined ? "" : ` → ~${w.projected}%`;
  const percent = `${String(Math.round(w.percent)).padStart(3)}%`;
  const text = `  ${w.name.padEnd(7)}${bar(w.percent, 100, barWidth)} ${percent}${projected}${reset}`;
  const paint = w.percent >= 90 || (w.projected ?? 0) >= 100 ? c.red : w.percent >= 70 ? c.yellow : undefined;
  return { text, paint };
}

/** "[███░░░░░]": `value` of `max` in `width` cells. */
export function bar(value: number, max: number, width: number): string {
  const filled = max <= 0 ? width : Math.min(width, Math.round((Math.max(0, value) / max) * width));
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}]`;
}

function eventPaint(text: string, c: Colors): ((s: string) => string) | undefined {
  if (/\b(1302|429)\b|limit /.test(text)) return c.yellow;
  if (/\b(1308|1113|1211|1313|401|rejected|disabled)\b/.test(text)) return c.red;
  return undefined;
}
