import { describe, expect, it } from "vitest";
import { loadConfig, type ConfigIO } from "../../src/config/load.js";
import { keysFromLogin } from "../../src/config/login-keys.js";
import { PLACEHOLDER_KEY } from "../../src/config/keys.js";
import { keyCheckToast, type KeyResult } from "../../src/quota/key-check.js";

const login = (key: string, accounts?: string) => ({ key, ...(accounts ? { metadata: { accounts } } : {}) });
const io = (files: Record<string, string> = {}, env: Record<string, string> = {}): ConfigIO => ({
  env,
  homedir: "/home/u",
  readFile: async (p) => files[p],
  fileMode: async () => 0o600,
});

describe("keys stored at opencode providers login", () => {
  it("each key its own account: commas, spaces, new lines and semicolons separate; repeats and the placeholder drop", () => {
    const { keys } = keysFromLogin(
      login(`sk-test-a, sk-test-b\nsk-test-c;sk-test-a ${PLACEHOLDER_KEY}`, "each"),
      "zai-coding-plan",
    );
    expect(keys.map((k) => [k.id, k.account, k.apiKey, k.source])).toEqual([
      ["login-1", "login-1", "sk-test-a", "auth"],
      ["login-2", "login-2", "sk-test-b", "auth"],
      ["login-3", "login-3", "sk-test-c", "auth"],
    ]);
  });

  it("all one account", () => {
    const { keys } = keysFromLogin(login("sk-test-a sk-test-b", "one"), "zai-coding-plan");
    expect(keys.map((k) => k.account)).toEqual(["login", "login"]);
  });

  it("named account=key; an entry without a valid name is its own account, reported by position only", () => {
    const { keys, problems } = keysFromLogin(
      login("work=sk-test-a,work=sk-test-b home=sk-test-c sk-test-d", "named"),
      "zai-coding-plan",
    );
    expect(keys.map((k) => [k.id, k.account])).toEqual([
      ["login-1", "work"],
      ["login-2", "work"],
      ["login-3", "home"],
      ["login-4", "login-4"],
    ]);
    expect(problems).toEqual([expect.stringContaining("key 4 of the login")]);
    expect(problems.join()).not.toContain("sk-test-d");
  });

  it("keys elsewhere: what was typed is no key; a bare key without login answers keeps its old id", () => {
    expect(keysFromLogin(login("anything", "elsewhere"), "zai-coding-plan").keys).toEqual([]);
    expect(keysFromLogin(login("sk-test-a"), "zai-coding-plan").keys.map((k) => k.id)).toEqual(["opencode-auth"]);
    expect(keysFromLogin(login(PLACEHOLDER_KEY), "zai-coding-plan").keys).toEqual([]);
  });

  it("is the third source: ZAI_API_KEYS, then the keys file, then the login", async () => {
    const file = {
      "/home/u/.config/opencode/zai-keys.json": JSON.stringify({ keys: [{ id: "f", apiKey: "sk-test-file" }] }),
    };
    const both = login("sk-test-a,sk-test-b", "each");
    expect((await loadConfig(io(file, { ZAI_API_KEYS: "sk-test-env" }), "zai-coding-plan", both)).keySource).toBe(
      "env",
    );
    const fromFile = await loadConfig(io(file), "zai-coding-plan", both);
    expect([fromFile.keySource, fromFile.loginKeys]).toEqual(["file", 2]);
    const fromLogin = await loadConfig(io(), "zai-coding-plan", both);
    expect([fromLogin.keySource, fromLogin.keys.length]).toEqual(["auth", 2]);
    expect((await loadConfig(io(), "zai-coding-plan", login(PLACEHOLDER_KEY))).keySource).toBe("none");
  });
});

describe("the key check toast", () => {
  const who = (position: number) => ({
    position,
    id: `login-${position}`,
    account: `login-${position}`,
    fingerprint: `fp${position}`,
  });
  it("names a refused key by position and fingerprint, plan and use of the others", () => {
    const results: KeyResult[] = [
      { ...who(1), result: "ok", level: "pro", fiveHour: 12.4, weekly: 3 },
      { ...who(2), result: "refused", code: "401" },
    ];
    const toast = keyCheckToast(results);
    expect(toast.variant).toBe("error");
    expect(toast.message).toBe(
      "1 of 2 key(s) refused: key 1 (login-1): plan pro, 5-hour 12%, weekly 3%; key 2 (login-2, fp fp2): refused by Z.AI (401)",
    );
  });

  it("offline is a warning that says could not check, never a failure", () => {
    const toast = keyCheckToast([{ ...who(1), result: "unknown", why: "request failed (TypeError)" }]);
    expect(toast.variant).toBe("warning");
    expect(toast.message).toContain("could not check");
  });
});
