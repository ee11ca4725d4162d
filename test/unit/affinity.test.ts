import { describe, expect, it } from "vitest";
import { SessionAffinity, sessionOf } from "../../src/routing/affinity.js";

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);

describe("sessionOf", () => {
  it("reads x-session-affinity first, then x-session-id, and the parent session", () => {
    expect(sessionOf(new Headers({ "x-session-affinity": "ses_a", "X-Session-Id": "ses_b" }))).toEqual({
      id: "ses_a",
      parent: undefined,
    });
    expect(sessionOf(new Headers({ "X-Session-Id": "ses_b", "x-parent-session-id": "ses_p" }))).toEqual({
      id: "ses_b",
      parent: "ses_p",
    });
    expect(sessionOf(new Headers({ "x-session-id": "  " }))).toEqual({ id: undefined, parent: undefined });
    expect(sessionOf(new Headers({ "x-session-id": "x".repeat(500) })).id).toBeUndefined();
  });

  it("takes a 2.x subagent's own id (x-opencode-session-id), not the parent's that x-session-affinity carries", () => {
    // As OpenCode 2.x sends them for a subagent (packages/core/src/session/model-request.ts): affinity = parentID ?? id.
    const subagent = new Headers({
      "x-opencode-session-id": "ses_child",
      "x-opencode-parent-session-id": "ses_parent",
      "x-session-affinity": "ses_parent",
      "X-Session-Id": "ses_parent",
      "x-parent-session-id": "ses_parent",
      "x-opencode-session": "ses_parent",
    });
    expect(sessionOf(subagent)).toEqual({ id: "ses_child", parent: "ses_parent" });
    const primary = new Headers({
      "x-opencode-session-id": "ses_p",
      "x-session-affinity": "ses_p",
      "X-Session-Id": "ses_p",
      "x-opencode-session": "ses_p",
    });
    expect(sessionOf(primary)).toEqual({ id: "ses_p", parent: undefined });
  });
});

describe("SessionAffinity", () => {
  it("remembers where a session's previous turn went", () => {
    const a = new SessionAffinity({ maxSessions: 10, ttlMs: 60_000 });
    a.place("ses_1", "acct-a", "a-1", T0);
    expect(a.lookup({ id: "ses_1", parent: undefined }, T0 + 1000)).toEqual({
      account: "acct-a",
      keyId: "a-1",
      at: T0,
    });
    expect(a.lookup({ id: "ses_2", parent: undefined }, T0 + 1000)).toBeUndefined();
  });

  it("places a new subagent session with its parent until it has its own placement", () => {
    const a = new SessionAffinity({ maxSessions: 10, ttlMs: 60_000 });
    a.place("parent", "acct-b", "b-1", T0);
    expect(a.lookup({ id: "child", parent: "parent" }, T0)?.account).toBe("acct-b");
    a.place("child", "acct-c", "c-1", T0);
    expect(a.lookup({ id: "child", parent: "parent" }, T0)?.account).toBe("acct-c");
  });

  it("forgets sessions unseen for ttlMs", () => {
    const a = new SessionAffinity({ maxSessions: 10, ttlMs: 60_000 });
    a.place("old", "acct-a", "a-1", T0);
    a.place("new", "acct-b", "b-1", T0 + 30_000);
    expect(a.lookup({ id: "old", parent: undefined }, T0 + 60_000)).toBeUndefined();
    expect(a.lookup({ id: "new", parent: undefined }, T0 + 60_000)?.account).toBe("acct-b");
    a.prune(T0 + 90_000);
    expect(a.size).toBe(0);
  });

  it("keeps at most maxSessions, dropping the least recently placed", () => {
    const a = new SessionAffinity({ maxSessions: 2, ttlMs: 60_000 });
    a.place("s1", "acct-a", "a-1", T0);
    a.place("s2", "acct-a", "a-1", T0 + 1);
    a.place("s1", "acct-a", "a-1", T0 + 2);
    a.place("s3", "acct-b", "b-1", T0 + 3);
    expect(a.size).toBe(2);
    expect(a.lookup({ id: "s2", parent: undefined }, T0 + 4)).toBeUndefined();
    expect(a.lookup({ id: "s1", parent: undefined }, T0 + 4)).toBeDefined();
  });

  it("counts live sessions per account", () => {
    const a = new SessionAffinity({ maxSessions: 10, ttlMs: 60_000 });
    a.place("s1", "acct-a", "a-1", T0);
    a.place("s2", "acct-a", "a-2", T0 + 10_000);
    a.place("s3", "acct-b", "b-1", T0 + 10_000);
    expect(Object.fromEntries(a.sessionsPerAccount(T0 + 65_000))).toEqual({ "acct-a": 1, "acct-b": 1 });
    expect([a.sessionsOn("acct-a"), a.sessionsOn("acct-b"), a.sessionsOn("acct-c")]).toEqual([1, 1, 0]);
    a.place("s2", "acct-c", "c-1", T0 + 66_000); // a session that moves counts on its new account only
    expect([a.sessionsOn("acct-a"), a.sessionsOn("acct-c")]).toEqual([0, 1]);
  });
});
