import { defineConfig } from "vitest/config";

/** End-to-end: the real opencode binary, one case at a time (2 cores; each case starts opencode processes). */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
