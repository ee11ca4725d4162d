import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { errorOf, keyEntries, setup } from "./setup.js";

/** The built entry, as OpenCode loads it (`npm test` builds first). Typed from the source it is built from. */
const DIST_ENTRY = new URL("../../dist/index.js", import.meta.url).href;
const DIST_ZHIPU = new URL("../../dist/zhipu.js", import.meta.url).href;

describe("the built entries dist/index.js and dist/zhipu.js", () => {
  it("default-export { id, server, setup } only, serving zai-coding-plan and zhipuai-coding-plan on 1.x", async () => {
    const entry = (await import(DIST_ENTRY)) as typeof import("../../src/index.js");
    expect(Object.keys(entry)).toEqual(["default"]);
    expect(Object.keys(entry.default).sort()).toEqual(["id", "server", "setup"]);
    expect(entry.default.id).toBe("oc-zai-multi-account");
    const hooks = await entry.default.server({ client: {} } as never);
    expect(hooks.auth?.provider).toBe("zai-coding-plan");
    // One login method: a select (how keys map to accounts), then OpenCode's own masked key field; no authorize.
    const [method, ...others] = hooks.auth?.methods ?? [];
    expect(others).toEqual([]);
    expect(method).toMatchObject({ type: "api", label: "Z.AI Coding Plan: one or more keys (oc-zai-multi-account)" });
    expect(method && "authorize" in method).toBe(false);
    expect(method?.prompts?.map((p) => [p.type, p.key])).toEqual([["select", "accounts"]]);
    const zhipu = (await import(DIST_ZHIPU)) as typeof import("../../src/zhipu.js");
    expect(Object.keys(zhipu)).toEqual(["default"]);
    expect(zhipu.default.id).toBe("oc-zai-multi-account-zhipu");
    expect((await zhipu.default.server({ client: {} } as never)).auth?.provider).toBe("zhipuai-coding-plan");
  });

  it("setup does nothing under 1.18's reduced context (no session)", async () => {
    const entry = (await import(DIST_ENTRY)) as typeof import("../../src/index.js");
    expect(await entry.default.setup({ options: {}, agent: {}, aisdk: {}, catalog: {} })).toBeUndefined();
  });
});

describe("plugin loader and notifications", () => {
  let env: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it("returns a placeholder apiKey and sends only real keys, rotated, with any incoming credential replaced", async () => {
    env = await setup({
      sim: {
        accounts: [
          { id: "A", keys: ["sk-a"] },
          { id: "B", keys: ["sk-b"] },
        ],
      },
      keysFile: { keys: keyEntries("A:sk-a", "B:sk-b") },
    });
    expect(env.loaded.apiKey).toBe("oc-zai-multi-account-managed");
    for (let i = 0; i < 4; i++) await (await env.chat()).text();
    expect(env.sim.stats().authorizations).toEqual(["Bearer sk-a", "Bearer sk-b", "Bearer sk-a", "Bearer sk-b"]);
  });

  it("takes keys from ZAI_API_KEYS before the file", async () => {
    env = await setup({
      sim: {
        accounts: [
          { id: "E", keys: ["sk-env1", "sk-env2"] },
          { id: "F", keys: ["sk-file"] },
        ],
      },
      keysFile: { keys: keyEntries("F:sk-file") },
      env: { ZAI_API_KEYS: "sk-env1,sk-env2" },
    });
    for (let i = 0; i < 2; i++) await (await env.chat()).text();
    expect(Object.keys(env.sim.stats().byKey).sort()).toEqual(["sk-env1", "sk-env2"]);
  });

  it("falls back to the key OpenCode stored", async () => {
    env = await setup({ sim: { accounts: [{ id: "S", keys: ["sk-stored"] }] }, authKey: "sk-stored" });
    expect((await env.chat()).status).toBe(200);
  });

  it("answers every request with a clear 400 naming file and field when the keys file is invalid, and toasts it", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a"] }] },
      keysFile: { keys: [{ id: "a", apiKey: "sk-secret-zz", colour: "red" }] } as never,
    });
    const res = await env.chat();
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.message).toMatch(/zai-keys\.json \(keys\.0\): Unrecognized key: "colour"/);
    expect(env.toasts[0]).toMatchObject({ variant: "error" });
    expect(env.toasts[0]?.message).toMatch(/zai-keys\.json/);
    expect(env.sim.stats().requests).toBe(0);
  });

  it("answers with guidance when there are no keys at all", async () => {
    env = await setup({ sim: { accounts: [{ id: "A", keys: ["sk-a"] }] } });
    const res = await env.chat();
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/set ZAI_API_KEYS/);
  });

  it("toasts each kind at most once per interval and survives a failing toast API", async () => {
    env = await setup({
      sim: { accounts: [{ id: "A", keys: ["sk-a1", "sk-a2", "sk-a3"] }], revokedKeys: ["sk-a1", "sk-a2"] },
      keysFile: { keys: keyEntries("A/a1:sk-a1", "A/a2:sk-a2", "A/a3:sk-a3") },
      failingClient: true,
    });
    for (let i = 0; i < 3; i++) expect((await env.chat()).status).toBe(200);
    expect(env.toasts.filter((t) => /was rejected/.test(t.message))).toHaveLength(1);
    expect(env.logs.filter((l) => /was rejected/.test(l.message))).toHaveLength(2);
  });

  it("never lets key material into toasts, logs, error bodies or events", async () => {
    const secrets = ["sk-leak-aaaa1111", "sk-leak-bbbb2222", "sk-leak-cccc3333"];
    env = await setup({
      sim: {
        accounts: [
          { id: "A", keys: secrets.slice(0, 2), usageWindow: { requests: 1 } },
          { id: "B", keys: [secrets[2]!] },
        ],
        revokedKeys: [secrets[0]!],
      },
      keysFile: { keys: keyEntries(`A/a1:${secrets[0]}`, `A/a2:${secrets[1]}`, `B/b:${secrets[2]}`) },
    });
    env.sim.inject({
      kind: "http-error",
      status: 401,
      code: "1002",
      message: `token ${secrets[2]} expired`,
      match: { key: secrets[2]! },
    });
    const texts: string[] = [];
    for (let i = 0; i < 5; i++) texts.push(await (await env.chat()).text());
    texts.push(await (await env.chat("glm-flash")).text());
    const everything = JSON.stringify({ texts, toasts: env.toasts, logs: env.logs, events: env.events });
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).toContain("***3333");
  });
});

describe("package metadata", () => {
  it("ships only dist and schema, as ESM, for Node 20+", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg.type).toBe("module");
    expect(pkg.engines).toEqual({ node: ">=20" });
  });
});
