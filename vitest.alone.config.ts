import { defineConfig } from "vitest/config";
import { ALONE } from "./vitest.config.js";

/** The second pass of `npm test`: the files that must not share the machine with the rest of the suite. */
export default defineConfig({
  test: {
    include: ALONE,
    testTimeout: 20_000,
    fileParallelism: false,
  },
});
