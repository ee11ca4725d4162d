#!/usr/bin/env node
// `npm run test:bun`: runs test/bun/load.ts under Bun, the runtime OpenCode loads plugins in.
// Bun comes from $BUN, else `bun` on PATH, else `npx --yes bun@<BUN_VERSION>` (npm's bun package ships the binary
// through platform packages). Builds dist/ first when it is missing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUN_VERSION = process.env.BUN_VERSION ?? "1.4.5";

function works(command, args) {
  const result = spawnSync(command, [...args, "--version"], { encoding: "utf8", timeout: 120_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

let bun = process.env.BUN ? [process.env.BUN] : ["bun"];
let version = works(bun[0], bun.slice(1));
if (!version) {
  bun = ["npx", "--yes", `bun@${BUN_VERSION}`];
  version = works(bun[0], bun.slice(1));
}
if (!version) {
  console.error("no Bun found: set BUN=/path/to/bun, put bun on PATH, or allow `npx bun`");
  process.exit(1);
}
if (!existsSync(join(root, "dist", "index.js"))) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
console.log(`bun ${version}: ${bun.join(" ")}`);
const run = spawnSync(bun[0], [...bun.slice(1), join(root, "test", "bun", "load.ts")], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
