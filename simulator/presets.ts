/** Ready-made simulator configs. Functions, so every caller gets a fresh object. */
import type { SimulatorConfig } from "./types.js";

/**
 * Three accounts for the demo:
 * - alpha: 2 keys, healthy;
 * - beta: 2 keys, `sk-test-beta-2` revoked (401), no glm-5.3 in its plan (1113);
 * - gamma: 1 key, its 5-hour window runs out after 25 requests (1308).
 * Caps per account: glm-4.7 3, glm-5.3-flash 2, others 2. ~300 ms to the first chunk, 5 chunks 80 ms apart.
 */
export function demoPreset(): SimulatorConfig {
  const limits = { "glm-4.7": 3, "glm-5.3-flash": 2 };
  return {
    accounts: [
      { id: "alpha", keys: ["sk-test-alpha-1", "sk-test-alpha-2"], limits: { ...limits } },
      { id: "beta", keys: ["sk-test-beta-1", "sk-test-beta-2"], limits: { ...limits }, unavailableModels: ["glm-5.3"] },
      { id: "gamma", keys: ["sk-test-gamma-1"], limits: { ...limits }, usageWindow: { requests: 25 } },
    ],
    revokedKeys: ["sk-test-beta-2"],
    latencyMs: 300,
    chunks: 5,
    chunkDelayMs: 80,
  };
}

export const presets: Readonly<Record<string, () => SimulatorConfig>> = Object.freeze({ demo: demoPreset });
