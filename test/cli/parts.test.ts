import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/cli/args.js";
import { JsoncError, parseJsonc } from "../../src/cli/jsonc.js";
import { npmNameOf, parsePluginSpec } from "../../src/cli/plugin-spec.js";
import { probeResult } from "../../src/cli/probe.js";
import { classify } from "../../src/lib.js";

describe("parseCommand", () => {
  it("reads doctor options", () => {
    expect(parseCommand(["doctor", "--probe", "--models", "glm-4.7, glm-5", "--json"])).toEqual({
      kind: "doctor",
      provider: "zai-coding-plan",
      json: true,
      probe: true,
      models: ["glm-4.7", "glm-5"],
    });
    expect(parseCommand(["doctor"])).toMatchObject({ probe: false, models: ["glm-4.7"] });
  });

  it("reads status options", () => {
    expect(parseCommand(["status", "--reset", "main", "--provider", "zhipuai-coding-plan"])).toEqual({
      kind: "status",
      provider: "zhipuai-coding-plan",
      json: false,
      reset: "main",
    });
  });

  it("turns mistakes into usage errors that name them", () => {
    expect(parseCommand(["nope"])).toEqual({ kind: "usage-error", message: 'unknown command "nope"' });
    expect(parseCommand(["status", "--probe"])).toMatchObject({ kind: "usage-error" });
    expect(parseCommand(["doctor", "--provider", "zai"])).toMatchObject({
      kind: "usage-error",
      message: expect.stringContaining('got "zai"'),
    });
    expect(parseCommand(["doctor", "--models", "glm-5"])).toMatchObject({
      kind: "usage-error",
      message: "--models only applies with --probe",
    });
  });

  it("knows help and version", () => {
    expect(parseCommand([])).toEqual({ kind: "help" });
    expect(parseCommand(["doctor", "-h"])).toEqual({ kind: "help" });
    expect(parseCommand(["-v"])).toEqual({ kind: "version" });
  });
});

describe("parseJsonc", () => {
  it("allows comments and trailing commas, and leaves strings alone", () => {
    const text = `{
      // line comment
      "plugin": ["a", "b//not-a-comment",], /* block
      comment */ "url": "http://x/*y*/",
    }`;
    expect(parseJsonc(text)).toEqual({ plugin: ["a", "b//not-a-comment"], url: "http://x/*y*/" });
  });

  it("names the line of a syntax error", () => {
    expect(() => parseJsonc('{\n  "a": 1\n  "b": 2\n}')).toThrow(JsoncError);
    expect(() => parseJsonc('{\n  "a": 1\n  "b": 2\n}')).toThrow(/comma expected at line 3, column 3/);
    expect(() => parseJsonc('{"a": [1,\n 2,,]}')).toThrow(/value expected at line 2, column 4/);
  });
});

describe("parsePluginSpec", () => {
  it("strips versions from npm names", () => {
    expect(npmNameOf("oc-zai-multi-account@1.2.3")).toBe("oc-zai-multi-account");
    expect(npmNameOf("@scope/pkg@latest")).toBe("@scope/pkg");
  });

  it("resolves file URLs, absolute and relative paths against the config's directory", () => {
    expect(parsePluginSpec("file:///opt/p/dist/index.js", "/cfg", "/home/u")?.localPath).toBe("/opt/p/dist/index.js");
    expect(parsePluginSpec("./p/dist/index.js", "/cfg", "/home/u")?.localPath).toBe("/cfg/p/dist/index.js");
    expect(parsePluginSpec("~/p/dist/index.js", "/cfg", "/home/u")?.localPath).toBe("/home/u/p/dist/index.js");
    expect(parsePluginSpec("oc-zai-multi-account", "/cfg", "/home/u")).toMatchObject({
      npmName: "oc-zai-multi-account",
      localPath: undefined,
    });
  });

  it("reads [name, options] tuples", () => {
    expect(parsePluginSpec(["oc-zai-multi-account", { keysFile: "/k.json" }], "/cfg", "/h")).toMatchObject({
      options: { keysFile: "/k.json" },
    });
    expect(parsePluginSpec(42, "/cfg", "/h")).toBeUndefined();
  });
});

describe("probeResult", () => {
  const key = { id: "main", account: "personal", source: "file" as const };
  const answer = (
    status: number,
    code: string | undefined,
    message = "",
    url = "http://h/api/coding/paas/v4/chat/completions",
  ) => classify({ status, code, message, retryAfterMs: undefined, url });

  it("maps answers to ok / 401 / 1113 / 1302 / other with a level", () => {
    const at = (status: number, code?: string, url?: string) =>
      probeResult(key, "glm-4.7", status, answer(status, code, "", url), 0, "/k.json");
    expect(at(200)).toMatchObject({ result: "ok", level: "ok" });
    expect(at(401, "1000")).toMatchObject({
      result: "401",
      level: "fail",
      fix: 'replace or remove key "main" in /k.json',
    });
    expect(at(429, "1113")).toMatchObject({ result: "1113", level: "warn" });
    expect(at(429, "1113", "http://h/api/paas/v4/chat/completions")).toMatchObject({ result: "1113", level: "fail" });
    expect(at(429, "1302")).toMatchObject({ result: "1302", level: "warn" });
    expect(at(429, "1308")).toMatchObject({ result: "other", level: "warn" });
    expect(at(400, "1211")).toMatchObject({ result: "other", level: "fail" });
  });

  it("fails when nothing answers", () => {
    const verdict = {
      kind: "transient",
      code: undefined,
      message: "network error (ECONNREFUSED)",
      retryAfterMs: undefined,
      accountWide: false,
    } as const;
    expect(probeResult(key, "glm-4.7", 0, verdict, 0, "/k.json")).toMatchObject({
      level: "fail",
      message: "no answer: network error (ECONNREFUSED)",
    });
  });
});
