import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/** Files `npm test` runs in a second pass, with nothing beside them. */
export const ALONE = ["test/ledger/multi-process.test.ts"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real processes suspended and resumed on a timing budget: run alone (vitest.alone.config.ts, after this run),
    // so the other test files' workers do not starve them into a false lapse.
    exclude: ["test/e2e/**", ...ALONE],
    testTimeout: 20_000,
    // Vitest's default (cores - 1) is one worker on a 2-core machine; most of the slow files wait on child processes
    // (the CLI, ledger peers, redis-server), so two workers there take the suite from ~82 s to ~55 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
