/**
 * Run by Bun (`npm run test:bun`), the runtime OpenCode loads plugins in: imports the built dist/index.js as OpenCode
 * does, checks its one export is the `{ id, server, setup }` default both generations read, then serves streamed
 * requests against the simulator through `server`'s fetch. Exits 1 with the reason on any failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../../simulator/server.js";

const runtime = (globalThis as { Bun?: { version: string } }).Bun;
if (!runtime) throw new Error("run this with bun: npm run test:bun");

const fail = (message: string): never => {
  console.error(`FAIL ${message}`);
  process.exit(1);
};

const dir = mkdtempSync(join(tmpdir(), "zai-bun-"));
const sim = await startSimulator({
  accounts: [
    { id: "a", keys: ["sk-test-bun-1"] },
    { id: "b", keys: ["sk-test-bun-2"] },
  ],
});
try {
  process.env.ZAI_API_KEYS = "sk-test-bun-1,sk-test-bun-2";
  process.env.ZAI_STATE_FILE = "off";
  process.env.HOME = dir;
  process.env.XDG_CONFIG_HOME = join(dir, "config");

  const entry = new URL("../../dist/index.js", import.meta.url).href;
  const module = (await import(entry)) as Record<string, unknown>;
  const names = Object.keys(module);
  if (names.join() !== "default")
    fail(
      `dist/index.js must export only its default (OpenCode 1.x ignores or calls the rest); exports: ${names.join(", ") || "(none)"}`,
    );
  type Loader = (getAuth: () => Promise<unknown>, provider: unknown) => Promise<{ fetch?: typeof fetch }>;
  type Server = (input: unknown) => Promise<{ auth?: { provider: string; loader?: Loader } }>;
  const entry0 = module.default as { id?: unknown; server?: Server; setup?: unknown };
  if (typeof entry0.id !== "string" || typeof entry0.server !== "function" || typeof entry0.setup !== "function") {
    fail("the default export must be { id, server, setup } (server for OpenCode 1.x, setup for 2.x)");
  }
  const plugin = entry0.server!;
  const client = { tui: { showToast: async () => {} }, app: { log: async () => {} } };
  const hooks = await plugin({ client, directory: dir, worktree: dir });
  if (hooks.auth?.provider !== "zai-coding-plan" || !hooks.auth.loader)
    fail("the default export has no auth loader for zai-coding-plan");
  const loaded = await hooks.auth!.loader!(async () => ({ type: "api", key: "oc-zai-multi-account-managed" }), {});
  if (typeof loaded.fetch !== "function") fail("the loader returned no fetch");

  const answers: string[] = [];
  for (let i = 0; i < 2; i++) {
    const response = await loaded.fetch!(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer oc-zai-multi-account-managed" },
      body: JSON.stringify({ model: "glm-4.7", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    const text = await response.text();
    if (response.status !== 200 || !text.includes("[DONE]"))
      fail(
        `request ${i + 1}: status ${response.status}, stream ${text.includes("[DONE]") ? "complete" : "incomplete"}`,
      );
    answers.push(text);
  }
  const seen = sim.stats().authorizations;
  if (seen.some((a) => a.includes("oc-zai-multi-account-managed"))) fail("the placeholder reached the upstream");
  if (new Set(seen).size !== 2)
    fail(`expected both keys to be used round-robin, saw ${seen.length} calls on ${new Set(seen).size} key(s)`);
  console.log(
    `ok: bun ${runtime.version} loaded dist/index.js (exports ${names.join(", ")}) and served ${answers.length} streamed requests on 2 keys`,
  );
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
