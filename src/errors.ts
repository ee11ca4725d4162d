/**
 * Errors the plugin throws or reports. Each has a literal `name` and a stable `code`; messages never hold key material.
 */

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "ZAI_CONFIG_INVALID";
  /** Where the problem is: a file path or an environment variable. */
  readonly source: string;
  /** The offending field as a dotted path (`keys.1.apiKey`), if any. */
  readonly field: string | undefined;

  constructor(source: string, field: string | undefined, problem: string, options?: { cause?: unknown }) {
    super(`${source}${field ? ` (${field})` : ""}: ${problem}`, options);
    this.source = source;
    this.field = field;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError || (error instanceof Error && error.name === "ConfigError");
}
