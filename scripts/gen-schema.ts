/** Writes schema/zai-keys.schema.json from the zod schema. Run: npm run schema. A test fails when it is stale. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KEYS_SCHEMA_FILE, keysJsonSchemaText } from "../src/cli/keys-json-schema.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, KEYS_SCHEMA_FILE);
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, keysJsonSchemaText());
process.stdout.write(`wrote ${KEYS_SCHEMA_FILE}\n`);
