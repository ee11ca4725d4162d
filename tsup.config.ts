import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", lib: "src/lib.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
});
