/**
 * OpenCode calls every export of this module as a plugin, so it exports plugin functions only.
 * The library API (classifier, fetch builder) lives behind the "oc-zai-multi-account/lib" subpath.
 */
import { createProviderPlugin } from "./hosts/opencode-v1.js";

/** Serves OpenCode's built-in `zai-coding-plan` provider (api.z.ai). */
const ZaiCodingPlanPlugin = createProviderPlugin("zai-coding-plan");
export default ZaiCodingPlanPlugin;

/** Serves `zhipuai-coding-plan` (open.bigmodel.cn) with the same machinery; its keys are never sent to z.ai. */
export const ZhipuCodingPlanPlugin = createProviderPlugin("zhipuai-coding-plan");
