import { parseArgs } from "node:util";
import { PROVIDERS, type ProviderId } from "../config/schema.js";

export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "doctor"; provider: ProviderId; json: boolean; probe: boolean; models: string[]; keys?: boolean }
  | { kind: "status"; provider: ProviderId; json: boolean; reset: string | undefined; watch?: { intervalMs: number } }
  | { kind: "usage-error"; message: string };

export const DEFAULT_PROBE_MODELS = ["glm-4.7"];

const usageError = (message: string): Command => ({ kind: "usage-error", message });

/** Pure: argv (without node and script) → what to do. */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") return { kind: "help" };
  if (name === "--version" || name === "-v" || name === "version") return { kind: "version" };
  if (name !== "doctor" && name !== "status") return { kind: "usage-error", message: `unknown command "${name}"` };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: "boolean" },
        provider: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...(name === "doctor"
          ? { probe: { type: "boolean" }, models: { type: "string" }, keys: { type: "boolean" } }
          : { reset: { type: "string" }, watch: { type: "boolean" }, interval: { type: "string" } }),
      },
    }));
  } catch (error) {
    return { kind: "usage-error", message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help) return { kind: "help" };
  const provider = values.provider ?? "zai-coding-plan";
  if (typeof provider !== "string" || !(PROVIDERS as readonly string[]).includes(provider)) {
    return {
      kind: "usage-error",
      message: `--provider must be one of ${PROVIDERS.join(", ")}, got "${String(provider)}"`,
    };
  }
  const json = values.json === true;
  if (name === "status") {
    const reset = typeof values.reset === "string" ? values.reset.trim() : undefined;
    if (reset === "")
      return {
        kind: "usage-error",
        message: "--reset needs a key id, an account, all, or learned[:<account>[/<model>]]",
      };
    if (values.watch !== true) {
      if (values.interval !== undefined) return usageError("--interval only applies with --watch");
      return { kind: "status", provider: provider as ProviderId, json, reset };
    }
    if (json || reset !== undefined) return usageError("--watch cannot be combined with --json or --reset");
    const intervalMs = values.interval === undefined ? 1000 : Number(values.interval);
    if (!Number.isInteger(intervalMs) || intervalMs < 100) {
      return usageError(`--interval must be a whole number of milliseconds >= 100, got "${String(values.interval)}"`);
    }
    return { kind: "status", provider: provider as ProviderId, json, reset, watch: { intervalMs } };
  }
  const models =
    typeof values.models === "string"
      ? values.models
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean)
      : DEFAULT_PROBE_MODELS;
  if (models.length === 0)
    return { kind: "usage-error", message: "--models needs at least one model id, e.g. --models glm-4.7,glm-5" };
  if (values.models !== undefined && values.probe !== true)
    return { kind: "usage-error", message: "--models only applies with --probe" };
  return {
    kind: "doctor",
    provider: provider as ProviderId,
    json,
    probe: values.probe === true,
    models,
    ...(values.keys === true ? { keys: true } : {}),
  };
}
