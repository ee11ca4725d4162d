import { describe, expect, it } from "vitest";
import { entriesFor, generationChecks, generationOf } from "../../src/cli/opencode-generation.js";
import type { OpencodeConfig } from "../../src/cli/opencode-config.js";

const config = (json: Record<string, unknown>, path = "/p/opencode.json"): OpencodeConfig => ({
  path,
  scope: "project",
  json,
  error: undefined,
});
const levels = (checks: Array<{ id: string; level: string }>) => Object.fromEntries(checks.map((c) => [c.id, c.level]));
const base = { provider: "zai-coding-plan" as const, globalConfig: "/g/opencode.json" };

describe("OpenCode generation checks", () => {
  it("reads the generation from `opencode --version`", () => {
    expect(generationOf("1.18.33\n")).toBe(1);
    expect(generationOf("opencode 2.0.24")).toBe(2);
    expect(generationOf("0.0.0-dev-202609212252")).toBeUndefined();
    expect(generationOf(undefined)).toBeUndefined();
  });

  it("finds the package in both keys and shapes", () => {
    const configs = [
      config({
        plugin: [
          ["oc-zai-multi-account@0.2.0", { keysFile: "/k" }],
          "file:///x/node_modules/oc-zai-multi-account/dist/zhipu.js",
        ],
        plugins: [{ package: "oc-zai-multi-account", options: { providers: ["zhipuai-coding-plan"] } }, "-other"],
      }),
    ];
    expect(entriesFor(configs, "plugin").map((e) => e.spec)).toEqual([
      "oc-zai-multi-account@0.2.0",
      "file:///x/node_modules/oc-zai-multi-account/dist/zhipu.js",
    ]);
    expect(entriesFor(configs, "plugins")[0]?.options).toEqual({ providers: ["zhipuai-coding-plan"] });
  });

  it("2.x: `plugin` alone is a failure that says why; a `plugins` entry passes; options are validated", () => {
    const onlyV1 = generationChecks({
      ...base,
      version: "2.0.24",
      configs: [config({ plugin: ["oc-zai-multi-account"] })],
    });
    expect(levels(onlyV1)).toEqual({ opencode: "ok", plugins: "fail" });
    expect(onlyV1[1]?.message).toMatch(/only OpenCode 1\.x reads/);
    expect(
      levels(
        generationChecks({ ...base, version: "2.0.24", configs: [config({ plugins: ["oc-zai-multi-account"] })] }),
      ),
    ).toEqual({ opencode: "ok", plugins: "ok" });
    const bad = generationChecks({
      ...base,
      version: "2.0.24",
      configs: [
        config({ plugins: [{ package: "oc-zai-multi-account", options: { providers: ["zhipuai-coding-plan"] } }] }),
      ],
    });
    expect(bad[1]).toMatchObject({
      level: "fail",
      message: expect.stringMatching(/for zhipuai-coding-plan only, not zai-coding-plan/),
    });
  });

  it("1.x: the China endpoint needs the zhipu entry by path", () => {
    const configs = [config({ plugin: ["oc-zai-multi-account"] })];
    expect(levels(generationChecks({ ...base, version: "1.18.33", configs }))).toEqual({
      opencode: "ok",
      plugin: "ok",
    });
    const cn = generationChecks({ ...base, provider: "zhipuai-coding-plan", version: "1.18.33", configs });
    expect(cn[1]).toMatchObject({ level: "fail", fix: expect.stringMatching(/dist\/zhipu\.js/) });
  });
});
