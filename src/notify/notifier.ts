import type { Clock } from "../util/clock.js";
import type { Redactor } from "../util/redact.js";

export type ToastVariant = "info" | "success" | "warning" | "error";
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The slice of OpenCode's SDK client the plugin talks to. Both calls may fail; failures are ignored. */
export interface NotifySink {
  toast(input: { title: string; message: string; variant: ToastVariant }): Promise<unknown> | unknown;
  log(input: { level: LogLevel; message: string; extra?: Record<string, unknown> }): Promise<unknown> | unknown;
}

export type ToastKind =
  | "key-disabled"
  | "account-disabled"
  | "usage-window"
  | "model-unavailable"
  | "all-cooling"
  | "config"
  | "key-check";

export interface NotifierOptions {
  clock: Clock;
  sink: NotifySink;
  /** Scrubs key material from anything shown or logged. */
  redactor: Redactor;
  toasts: boolean;
  /** Minimum time between two toasts of one kind. */
  intervalMs: number;
}

/** Toasts sparingly (each kind at most once per interval), logs everything, scrubs keys from both. */
export class Notifier {
  private readonly lastToast = new Map<ToastKind, number>();
  private readonly options: NotifierOptions;

  constructor(options: NotifierOptions) {
    this.options = options;
  }

  toast(kind: ToastKind, message: string, variant: ToastVariant = "warning"): void {
    const { clock, toasts, intervalMs } = this.options;
    const clean = this.clean(message);
    this.log(variant === "error" ? "error" : "warn", clean, { toast: kind });
    if (!toasts) return;
    const now = clock.now();
    const last = this.lastToast.get(kind);
    if (last !== undefined && now - last < intervalMs) return;
    this.lastToast.set(kind, now);
    swallow(() => this.options.sink.toast({ title: "Z.AI multi-account", message: clean, variant }));
  }

  log(level: LogLevel, message: string, extra?: Record<string, unknown>): void {
    const clean = this.clean(message);
    const entry =
      extra === undefined ? { level, message: clean } : { level, message: clean, extra: this.cleanExtra(extra) };
    swallow(() => this.options.sink.log(entry));
  }

  private clean(text: string): string {
    return this.options.redactor.redact(text);
  }

  private cleanExtra(extra: Record<string, unknown>): Record<string, unknown> {
    return this.options.redactor.redactDeep(extra);
  }
}

function swallow(call: () => unknown): void {
  try {
    const result = call();
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // a failing toast or log API must never affect requests
  }
}
