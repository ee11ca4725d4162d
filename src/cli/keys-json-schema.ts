import { z } from "zod";
import { keysFileSchema } from "../config/schema.js";

export const KEYS_SCHEMA_ID = "https://unpkg.com/oc-zai-multi-account/schema/zai-keys.schema.json";
/** Where the generated schema is committed, relative to the package root. */
export const KEYS_SCHEMA_FILE = "schema/zai-keys.schema.json";

/**
 * The JSON Schema of the keys file, generated from the zod schema (the single source of names, bounds and
 * defaults). Input side: fields with defaults are optional.
 */
export function keysJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(keysFileSchema, { io: "input" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: KEYS_SCHEMA_ID,
    title: "oc-zai-multi-account keys file",
    description:
      "API keys and settings for the oc-zai-multi-account OpenCode plugin (~/.config/opencode/zai-keys.json). " +
      "Keep this file mode 0600.",
    ...rest,
  };
}

/** The file's exact text: two-space JSON and a final newline. */
export function keysJsonSchemaText(): string {
  return `${JSON.stringify(keysJsonSchema(), null, 2)}\n`;
}
