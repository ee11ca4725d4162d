import { PLACEHOLDER_KEY } from "../config/keys.js";
import { keysFilePath } from "../config/load.js";
import { Redactor } from "../util/redact.js";
import type { CliEnv } from "./cli-env.js";
import { authJsonPath } from "./opencode-config.js";

/**
 * The CLI's redaction point: a CliEnv whose stdout and stderr pass a Redactor that knows every key the commands
 * could come across (ZAI_API_KEYS, the keys file, OpenCode's auth.json), read loosely so that even a file that
 * fails validation has its keys masked.
 */
export async function redactingEnv(cli: CliEnv): Promise<CliEnv> {
  const redactor = new Redactor(await knownSecrets(cli));
  return {
    ...cli,
    stdout: (text) => cli.stdout(redactor.redact(text)),
    stderr: (text) => cli.stderr(redactor.redact(text)),
  };
}

async function knownSecrets(cli: CliEnv): Promise<string[]> {
  const secrets = (cli.env.ZAI_API_KEYS ?? "").split(/[,\s]+/).filter((s) => s.length >= 8);
  for (const path of [keysFilePath(cli.env, cli.homedir), authJsonPath(cli)]) {
    const text = await cli.readFile(path).catch(() => undefined);
    if (text) for (const m of text.matchAll(/"(?:apiKey|key)"\s*:\s*"([^"]{8,})"/g)) secrets.push(...pieces(m[1]!));
  }
  const content = cli.env.OPENCODE_AUTH_CONTENT ?? "";
  for (const m of content.matchAll(/"key"\s*:\s*"([^"]{8,})"/g)) secrets.push(...pieces(m[1]!));
  return secrets.filter((s) => s !== PLACEHOLDER_KEY);
}

/** A login stores several keys in one field (`a,b` or `work=a home=b`): each key, and the whole text, are secrets. */
function pieces(text: string): string[] {
  const keys = text
    .split(/(?:\\n|[\s,;])+/)
    .map((t) => t.slice(t.indexOf("=") + 1))
    .filter((t) => t.length >= 8);
  return [text, ...keys];
}
