/**
 * Entry for `zhipuai-coding-plan` (open.bigmodel.cn) under OpenCode 1.x: `"plugin": ["oc-zai-multi-account/zhipu"]`
 * next to (or instead of) `"oc-zai-multi-account"`. Its keys are never sent to z.ai. Same shape as the main entry
 * (see src/index.ts); under 2.x its `setup` serves zhipuai-coding-plan unless `options.providers` says otherwise.
 */
import { createProviderPlugin } from "./hosts/opencode-v1.js";
import { createV2Setup } from "./hosts/opencode-v2.js";
import { processV2Deps } from "./hosts/process.js";

const plugin = {
  id: "oc-zai-multi-account-zhipu",
  server: createProviderPlugin("zhipuai-coding-plan"),
  setup: createV2Setup(["zhipuai-coding-plan"], processV2Deps),
};

export default plugin;
