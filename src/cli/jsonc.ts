import { parseJsonText } from "../config/json-text.js";
import { formatPosition } from "../config/json-text.js";

/** opencode.json[c] as OpenCode reads it: `jsonc-parser` with comments and trailing commas allowed. */

export class JsoncError extends Error {
  override readonly name = "JsoncError";
  readonly code = "ZAI_JSONC_INVALID";
}

/** Parses JSONC. Throws JsoncError naming every problem's line and column, never quoting the text. */
export function parseJsonc(text: string): unknown {
  const { value, problems } = parseJsonText(text, { jsonc: true });
  if (problems.length === 0) return value;
  const list = problems.map((p) => `${p.message} at ${formatPosition(p)}`);
  throw new JsoncError(`invalid JSON: ${list.join("; ")}`);
}
