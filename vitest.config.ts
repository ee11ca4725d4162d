import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    testTimeout: 20_000,
    // Vitest's default (cores - 1) is one worker on a 2-core machine; most of the slow files wait on child processes
    // (the CLI, ledger peers, redis-server), so two workers there take the suite from ~82 s to ~55 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
