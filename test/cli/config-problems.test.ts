import { describe, expect, it } from "vitest";
import { parseJsonText } from "../../src/config/json-text.js";
import { keysFileModeProblem, loadConfig, parseKeysFile, type ConfigIO } from "../../src/config/load.js";
import { ConfigProblemsError } from "../../src/config/problems.js";

const FILE = "/home/u/.config/opencode/zai-keys.json";
const io = (files: Record<string, string>, env: Record<string, string> = {}): ConfigIO => ({
  env,
  homedir: "/home/u",
  readFile: async (p) => files[p],
  fileMode: async () => 0o600,
});

describe("keys file problems", () => {
  it("reports every problem at once, each with field and line/column, never a value", () => {
    const text = [
      '{"keys": [',
      '  {"id": "a", "apiKey": "sk-secret-1", "colour": 1},',
      '  {"id": "a", "apiKey": "sk-secret-1"}',
      '], "retry": {"maxAttempts": 0}}',
    ].join("\n");
    const error = (() => {
      try {
        parseKeysFile(text, FILE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigProblemsError);
    const problems = (error as ConfigProblemsError).problems.map(
      (p) => `${p.field} ${p.position?.line}:${p.position?.column}`,
    );
    expect(problems.sort()).toEqual(
      ["keys.0 2:40", "keys.1.apiKey 3:15", "keys.1.id 3:4", "retry.maxAttempts 4:14"].sort(),
    );
    expect((error as Error).message).toContain(`${FILE}: 4 problems: `);
    expect((error as Error).message).not.toContain("sk-secret");
  });

  it("names a trailing comma and a comment in strict JSON, with their positions", () => {
    expect(parseJsonText('{"a": [1,]}', { jsonc: false }).problems).toEqual([
      { line: 1, column: 10, message: "trailing comma (not allowed in JSON)" },
    ]);
    expect(parseJsonText('{\n  // note\n  "a": 1\n}', { jsonc: false }).problems[0]).toMatchObject({
      line: 2,
      column: 3,
      message: "comment (not allowed in JSON)",
    });
    expect(parseJsonText('{"a": [1,], /* ok */}', { jsonc: true }).problems).toEqual([]);
  });

  it("says ZAI_API_KEYS is set but holds no key, and falls through to the file", async () => {
    const c = await loadConfig(
      io({ [FILE]: JSON.stringify({ keys: [{ id: "f", apiKey: "sk-file" }] }) }, { ZAI_API_KEYS: " , ," }),
      "zai-coding-plan",
      undefined,
    );
    expect(c.keySource).toBe("file");
    expect(c.warnings).toContain(
      "ZAI_API_KEYS is set but holds no key (only separators, spaces or the placeholder); keys come from the next source",
    );
  });

  it("a directory in place of the file is named as such", async () => {
    const dir: ConfigIO = {
      ...io({}),
      readFile: async () =>
        Promise.reject(Object.assign(new Error("EISDIR: illegal operation on a directory"), { code: "EISDIR" })),
    };
    await expect(loadConfig(dir, "zai-coding-plan", undefined)).rejects.toThrow(`${FILE}: is a directory, not a file`);
  });

  it("mode: readable by others warns, writable by others fails, private passes", () => {
    expect(keysFileModeProblem(0o600)).toBeUndefined();
    expect(keysFileModeProblem(0o644)).toMatchObject({
      level: "warn",
      text: "is readable by group or others (mode 644)",
    });
    expect(keysFileModeProblem(0o620)).toMatchObject({ level: "fail" });
    expect(keysFileModeProblem(undefined)).toBeUndefined();
  });
});
