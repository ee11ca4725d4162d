/**
 * Standalone simulator: `tsx simulator/cli.ts --config sim.json [--port 4010] [--host 127.0.0.1]`
 * or `--preset demo`. Prints one JSON line `{"url","port","origin"}` when listening; stops on SIGINT/SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { presets } from "./presets.js";
import { startSimulator } from "./server.js";
import type { SimulatorConfig } from "./types.js";

const USAGE = "usage: tsx simulator/cli.ts (--config <file.json> | --preset <name>) [--port <n>] [--host <h>]";

async function loadConfig(configPath: string | undefined, preset: string | undefined): Promise<SimulatorConfig> {
  if ((configPath === undefined) === (preset === undefined)) throw new Error(`give --config or --preset\n${USAGE}`);
  if (preset !== undefined) {
    const make = presets[preset];
    if (make === undefined)
      throw new Error(`unknown preset ${JSON.stringify(preset)}; known: ${Object.keys(presets).join(", ")}`);
    return make();
  }
  return JSON.parse(await readFile(configPath as string, "utf8")) as SimulatorConfig;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      preset: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = await loadConfig(values.config, values.preset);
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be 0-65535, got ${values.port}`);
    config.port = port;
  }
  if (values.host !== undefined) config.host = values.host;
  const sim = await startSimulator(config);
  process.stdout.write(`${JSON.stringify({ url: sim.url, port: sim.port, origin: sim.origin })}\n`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
