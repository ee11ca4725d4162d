/**
 * The package entry for both OpenCode generations, serving `zai-coding-plan` (api.z.ai):
 * - 1.x (>= 1.18.29) takes an object default with `id` + `server` as a 1.x plugin and runs only `server`
 *   (packages/opencode/src/plugin/shared.ts `readV1Plugin`); named exports are ignored, so this module has none.
 * - 2.x decodes `{ id, setup }` (extra keys ignored; packages/core/src/plugin/module.ts) and runs `setup`.
 * Both adapters (src/hosts/opencode-v1.ts, src/hosts/opencode-v2.ts) share the process's engines.
 * `zhipuai-coding-plan` (open.bigmodel.cn) has its own entry, `oc-zai-multi-account/zhipu`, for 1.x; under 2.x
 * one entry serves both through `options.providers`.
 * The library API lives behind the "oc-zai-multi-account/lib" subpath.
 */
import { createProviderPlugin } from "./hosts/opencode-v1.js";
import { createV2Setup } from "./hosts/opencode-v2.js";
import { processV2Deps } from "./hosts/process.js";

const plugin = {
  id: "oc-zai-multi-account",
  server: createProviderPlugin("zai-coding-plan"),
  setup: createV2Setup(["zai-coding-plan"], processV2Deps),
};

export default plugin;
