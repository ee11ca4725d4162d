import { defineConfig } from "tsup";

export default defineConfig({
  // cli.js keeps the #! line of src/cli.ts (esbuild preserves it, tsup makes the file executable).
  entry: { index: "src/index.ts", zhipu: "src/zhipu.ts", lib: "src/lib.ts", cli: "src/cli.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
});
