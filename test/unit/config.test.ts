import { describe, expect, it } from "vitest";
import { loadConfig, PLACEHOLDER_KEY, type ConfigIO } from "../../src/lib.js";

const FILE = "/home/u/.config/opencode/zai-keys.json";

function io(files: Record<string, string>, env: Record<string, string> = {}, mode = 0o600): ConfigIO {
  return {
    env,
    homedir: "/home/u",
    readFile: async (p) => files[p],
    fileMode: async () => mode,
  };
}
const file = (o: unknown) => ({ [FILE]: JSON.stringify(o) });

describe("loadConfig", () => {
  it("takes ZAI_API_KEYS first, each key its own account", async () => {
    const c = await loadConfig(
      io(file({ keys: [{ id: "f", apiKey: "sk-file" }] }), { ZAI_API_KEYS: "sk-a, sk-b" }),
      "zai-coding-plan",
      "sk-auth",
    );
    expect(c.keySource).toBe("env");
    expect(c.keys.map((k) => [k.apiKey, k.account])).toEqual([
      ["sk-a", "zai-api-keys-1"],
      ["sk-b", "zai-api-keys-2"],
    ]);
  });
  it("then the keys file, with defaults for label, enabled and account", async () => {
    const c = await loadConfig(
      io(
        file({
          keys: [
            { id: "main", label: "Main", apiKey: "sk-1", account: "personal" },
            { id: "backup", apiKey: "sk-2" },
            { id: "off", apiKey: "sk-3", enabled: false },
          ],
        }),
      ),
      "zai-coding-plan",
      undefined,
    );
    expect(c.keys.map((k) => [k.id, k.label, k.account])).toEqual([
      ["main", "Main", "personal"],
      ["backup", "backup", "backup"],
    ]);
  });
  it("then the stored OpenCode key, but never the placeholder", async () => {
    expect((await loadConfig(io({}), "zai-coding-plan", "sk-auth")).keys[0]?.apiKey).toBe("sk-auth");
    expect((await loadConfig(io({}), "zai-coding-plan", PLACEHOLDER_KEY)).keySource).toBe("none");
  });
  it("applies the file's settings whichever source gave the keys", async () => {
    const c = await loadConfig(
      io(file({ models: { "glm-4.7": { maxConcurrency: 3 } }, retry: { maxAttempts: 2 } }), { ZAI_API_KEYS: "sk-a" }),
      "zai-coding-plan",
      undefined,
    );
    expect(c.settings.models["glm-4.7"]?.maxConcurrency).toBe(3);
    expect(c.settings.retry.maxAttempts).toBe(2);
  });
  it("lets ZAI_ROTATION_STRATEGY and ZAI_COOLDOWN_MS override the file", async () => {
    const c = await loadConfig(
      io(file({ rotation: { cooldownMs: 5 } }), { ZAI_COOLDOWN_MS: "1234", ZAI_ROTATION_STRATEGY: "fill-first" }),
      "zai-coding-plan",
      undefined,
    );
    expect(c.settings.rotation).toEqual({ strategy: "fill-first", cooldownMs: 1234 });
  });
  it("finds the file through ZAI_KEYS_FILE and XDG_CONFIG_HOME", async () => {
    expect(
      (
        await loadConfig(
          io({ "/x.json": JSON.stringify({ keys: [{ id: "a", apiKey: "k" }] }) }, { ZAI_KEYS_FILE: "/x.json" }),
          "zai-coding-plan",
          undefined,
        )
      ).keys,
    ).toHaveLength(1);
    expect((await loadConfig(io({}, { XDG_CONFIG_HOME: "/cfg" }), "zai-coding-plan", undefined)).keysFile).toBe(
      "/cfg/opencode/zai-keys.json",
    );
  });
  it("accepts $schema", async () => {
    await expect(
      loadConfig(io(file({ $schema: "./schema.json", keys: [] })), "zai-coding-plan", undefined),
    ).resolves.toBeDefined();
  });
  it("keeps keys of the other provider out", async () => {
    const c = await loadConfig(
      io(
        file({
          keys: [
            { id: "cn", apiKey: "sk-cn", provider: "zhipuai-coding-plan" },
            { id: "z", apiKey: "sk-z" },
          ],
        }),
      ),
      "zai-coding-plan",
      undefined,
    );
    expect(c.keys.map((k) => k.id)).toEqual(["z"]);
  });
  it("warns when the file is readable by others", async () => {
    const c = await loadConfig(io(file({ keys: [{ id: "a", apiKey: "k" }] }), {}, 0o644), "zai-coding-plan", undefined);
    expect(c.warnings[0]).toMatch(/chmod 600/);
  });

  describe("rejects bad input naming file and field, never the key", () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        "invalid JSON",
        '{"keys": [ {"id": "a", "apiKey": "sk-secret-1",} ]}',
        /not valid JSON: trailing comma \(not allowed in JSON\), at line 1, column 48/,
      ],
      [
        "unknown field",
        JSON.stringify({ keys: [{ id: "a", apiKey: "sk-secret-1", colour: "red" }] }),
        /\(keys\.0\).*colour/,
      ],
      [
        "duplicate id",
        JSON.stringify({
          keys: [
            { id: "a", apiKey: "sk-secret-1" },
            { id: "a", apiKey: "sk-secret-2" },
          ],
        }),
        /\(keys\.1\.id\): duplicate id "a"/,
      ],
      [
        "duplicate key",
        JSON.stringify({
          keys: [
            { id: "a", apiKey: "sk-secret-1" },
            { id: "b", apiKey: "sk-secret-1" },
          ],
        }),
        /\(keys\.1\.apiKey\): same API key as keys\.0/,
      ],
      ["empty key", JSON.stringify({ keys: [{ id: "a", apiKey: "  " }] }), /\(keys\.0\.apiKey\): must not be empty/],
      ["bad strategy", JSON.stringify({ rotation: { strategy: "random" } }), /\(rotation\.strategy\)/],
    ];
    it.each(cases)("%s", async (_name, text, pattern) => {
      const error = await loadConfig(io({ [FILE]: text }), "zai-coding-plan", undefined).catch((e: Error) => e);
      expect(error).toMatchObject({ name: "ConfigError", code: "ZAI_CONFIG_INVALID" });
      expect((error as Error).message).toContain(FILE);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain("sk-secret");
    });
    it("a bad ZAI_COOLDOWN_MS", async () => {
      await expect(loadConfig(io({}, { ZAI_COOLDOWN_MS: "soon" }), "zai-coding-plan", undefined)).rejects.toThrow(
        /ZAI_COOLDOWN_MS: must be a whole number/,
      );
    });
  });
});
