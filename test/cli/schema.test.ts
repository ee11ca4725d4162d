import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { keysFileSchema } from "../../src/lib.js";
import { KEYS_SCHEMA_FILE, keysJsonSchemaText } from "../../src/cli/keys-json-schema.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The README's keys file example. */
const README_EXAMPLE = {
  $schema: "https://unpkg.com/oc-zai-multi-account/schema/zai-keys.schema.json",
  keys: [
    { id: "main", label: "Main", apiKey: "sk-xxx", enabled: true, account: "personal" },
    { id: "backup", apiKey: "sk-yyy" },
  ],
  rotation: { strategy: "round-robin", cooldownMs: 60000 },
  models: { "glm-4.7": { maxConcurrency: 10 } },
};

type Schema = Record<string, unknown>;

/** A structural JSON Schema check: the keywords zod emits for the keys file, nothing more. Returns error paths. */
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const type = schema.type;
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  const typeOk =
    type === undefined ||
    (type === "object" && isObject) ||
    (type === "array" && Array.isArray(value)) ||
    (type === "string" && typeof value === "string") ||
    (type === "boolean" && typeof value === "boolean") ||
    (type === "number" && typeof value === "number") ||
    (type === "integer" && Number.isInteger(value));
  if (!typeOk) return [`${path}: expected ${String(type)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) errors.push(`${path}: too short`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) errors.push(`${path}: too long`);
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value))
      errors.push(`${path}: pattern`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${path}: above maximum`);
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum)
      errors.push(`${path}: not above exclusiveMinimum`);
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum)
      errors.push(`${path}: not below exclusiveMaximum`);
  }
  if (Array.isArray(value) && schema.items)
    value.forEach((item, i) => errors.push(...validate(schema.items as Schema, item, `${path}[${i}]`)));
  if (isObject) {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[])
      if (!(name in object)) errors.push(`${path}.${name}: required`);
    for (const [name, child] of Object.entries(object)) {
      if (schema.propertyNames) errors.push(...validate(schema.propertyNames as Schema, name, `${path}{${name}}`));
      const sub = properties[name];
      if (sub) errors.push(...validate(sub, child, `${path}.${name}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${name}: not allowed`);
      else if (typeof schema.additionalProperties === "object")
        errors.push(...validate(schema.additionalProperties as Schema, child, `${path}.${name}`));
    }
  }
  return errors;
}

describe("keys file JSON Schema", () => {
  it("is committed exactly as generated from the zod schema (run `npm run schema` after changing it)", async () => {
    expect(await readFile(join(root, KEYS_SCHEMA_FILE), "utf8")).toBe(keysJsonSchemaText());
  });

  it("has an $id, a title and a description", () => {
    const schema = JSON.parse(keysJsonSchemaText()) as Schema;
    expect(schema.$id).toMatch(/^https:\/\/.*zai-keys\.schema\.json$/);
    expect(schema.title).toBeTruthy();
    expect(schema.description).toBeTruthy();
  });

  it("accepts the README example, which zod accepts too", () => {
    const schema = JSON.parse(keysJsonSchemaText()) as Schema;
    expect(validate(schema, README_EXAMPLE)).toEqual([]);
    expect(keysFileSchema.safeParse(README_EXAMPLE).success).toBe(true);
  });

  it("leaves fields with defaults optional", () => {
    const schema = JSON.parse(keysJsonSchemaText()) as Schema;
    expect(validate(schema, { keys: [{ id: "a", apiKey: "sk-test" }] })).toEqual([]);
    expect(schema.required).toBeUndefined();
  });

  it("rejects what zod rejects: unknown fields, bad ids, out-of-range numbers", () => {
    const schema = JSON.parse(keysJsonSchemaText()) as Schema;
    expect(validate(schema, { ...README_EXAMPLE, extra: 1 })).toEqual(["$.extra: not allowed"]);
    expect(validate(schema, { keys: [{ id: "has space", apiKey: "k" }] })).toEqual(["$.keys[0].id: pattern"]);
    expect(validate(schema, { rotation: { cooldownMs: -1 } })).toEqual(["$.rotation.cooldownMs: below minimum"]);
    expect(validate(schema, { keys: [{ id: "a" }] })).toEqual(["$.keys[0].apiKey: required"]);
  });
});
