#!/usr/bin/env node
// Installs the pinned opencode binary for the end-to-end tests (e2e/package.json + lockfile), once.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const e2e = join(root, "e2e");
const wanted = JSON.parse(readFileSync(join(e2e, "package.json"), "utf8")).dependencies["opencode-ai"];
// The platform package's binary (the opencode-ai shim is a stub until its postinstall runs, which npm may gate).
// Same path as test/e2e/harness.ts.
const win = process.platform === "win32";
const bin = join(
  e2e,
  "node_modules",
  `opencode-${win ? "windows" : process.platform}-${process.arch}`,
  "bin",
  win ? "opencode.exe" : "opencode",
);

function version() {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 60_000 }).trim();
  } catch {
    return undefined;
  }
}

if (!existsSync(bin) || version() !== wanted) {
  console.log(`installing opencode-ai ${wanted} into e2e/ ...`);
  execFileSync("npm", ["ci", "--prefix", e2e, "--no-audit", "--no-fund"], { stdio: "inherit" });
}
const got = version();
if (got !== wanted) {
  console.error(`opencode at ${bin} reports ${got ?? "nothing"}, expected ${wanted}`);
  process.exit(1);
}
console.log(`opencode ${got} ready at ${bin}`);
