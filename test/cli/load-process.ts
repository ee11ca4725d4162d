/**
 * One OpenCode-like process for the `status --watch` test: the plugin (run by tsx) with the keys and state of
 * its environment, `workers` requests in flight at a time against the simulator at `base`, until killed.
 * argv: <base URL> <workers>. Prints "loaded" once its first requests are on their way.
 */
import { createProviderPlugin, nodeConfigIO } from "../../src/lib.js";

const [base = "", workers = "2"] = process.argv.slice(2);
const plugin = createProviderPlugin("zai-coding-plan", { io: nodeConfigIO(process.env) });
const hooks = await plugin({ client: {} } as never);
const { fetch } = (await hooks.auth!.loader!(
  async () => ({ type: "api", key: "oc-zai-multi-account-managed" }),
  {} as never,
)) as { fetch: typeof globalThis.fetch };
const body = JSON.stringify({ model: "glm-4.7", stream: true, messages: [{ role: "user", content: "hi" }] });
const worker = async (): Promise<void> => {
  for (;;) {
    const res = await fetch(`${base}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await res.text();
  }
};
for (let i = 0; i < Number(workers); i++) void worker();
process.stdout.write("loaded\n");
