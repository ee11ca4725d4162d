import { parseCommand } from "./args.js";
import type { CliEnv } from "./cli-env.js";
import { doctorCommand } from "./doctor.js";
import { redactingEnv } from "./redacting-env.js";
import { statusCommand } from "./status.js";
import { USAGE } from "./usage.js";
import { watchCommand } from "./watch.js";
import { nodeWatchTerminal } from "./watch-terminal.js";

/** Runs one CLI invocation; resolves to the exit code. Unexpected errors are reported, not thrown. */
export async function runCli(argv: readonly string[], raw: CliEnv): Promise<number> {
  const command = parseCommand(argv);
  // Everything a command prints passes the redactor: state-file reasons and probe answers quote upstream text.
  const cli = await redactingEnv(raw);
  try {
    switch (command.kind) {
      case "help":
        cli.stdout(USAGE);
        return 0;
      case "version":
        cli.stdout(`${cli.version}\n`);
        return 0;
      case "usage-error":
        cli.stderr(`oc-zai-multi-account: ${command.message}\n\n${USAGE}`);
        return 2;
      case "doctor":
        return await doctorCommand(cli, command);
      case "status":
        if (command.watch) {
          const terminal = nodeWatchTerminal(cli.env, cli.stdout);
          return await watchCommand(cli, command.provider, command.watch.intervalMs, terminal);
        }
        return await statusCommand(cli, command);
      default:
        return command satisfies never;
    }
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    cli.stderr(`oc-zai-multi-account: ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
