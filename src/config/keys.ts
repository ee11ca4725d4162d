import type { ProviderId } from "./schema.js";

/** The value users enter at `opencode providers login`: it activates the provider, the plugin supplies real keys. */
export const PLACEHOLDER_KEY = "oc-zai-multi-account-managed";

export type KeySource = "env" | "file" | "auth";

/** One usable API key, resolved from whichever source supplied it. */
export interface ApiKey {
  readonly id: string;
  readonly label: string;
  readonly apiKey: string;
  /** Keys sharing an account share its concurrency limits and usage windows. */
  readonly account: string;
  readonly provider: ProviderId;
  readonly source: KeySource;
}

/** Splits `ZAI_API_KEYS`: commas, semicolons or whitespace between keys; each key is its own account. */
export function keysFromEnv(value: string, provider: ProviderId, variable: string): ApiKey[] {
  const raw = value
    .split(/[\s,;]+/)
    .map((k) => k.trim())
    .filter((k) => k.length > 0 && k !== PLACEHOLDER_KEY);
  const unique = [...new Set(raw)];
  return unique.map((apiKey, index) => {
    const id = `${variable.toLowerCase().replace(/_/g, "-")}-${index + 1}`;
    return { id, label: id, apiKey, account: id, provider, source: "env" as const };
  });
}
