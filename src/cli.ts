#!/usr/bin/env node
/** The `oc-zai-multi-account` command (dist/cli.js): doctor and status. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { nodeCliEnv } from "./cli/cli-env.js";
import { runCli } from "./cli/run.js";

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

const cli = nodeCliEnv({
  version: packageVersion(),
  ownPluginPath: fileURLToPath(new URL("./index.js", import.meta.url)),
});
process.exitCode = await runCli(process.argv.slice(2), cli);
