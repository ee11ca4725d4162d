import { keysFileModeProblem } from "../../config/load.js";
import { describeProblem } from "../../config/problems.js";
import type { Check } from "../report.js";
import type { DoctorFacts } from "./types.js";

/** Where the keys come from, and the keys file: every problem with line/column, its mode. */

export function keysFileCheck({ setup }: DoctorFacts): Check[] {
  const { keys, provider } = setup;
  const chosen = keys.chosenBy ? ` (set by ${keys.chosenBy})` : "";
  const schemaFix = `correct ${keys.path} (its JSON Schema: schema/zai-keys.schema.json in the package)`;
  if (keys.fileError) {
    if (keys.fileProblems.length <= 1)
      return [{ id: "keys-file", level: "fail", message: keys.fileError, fix: schemaFix }];
    return [
      { id: "keys-file", level: "fail", message: `${keys.path}: ${keys.fileProblems.length} problems`, fix: schemaFix },
      ...keys.fileProblems.map((p): Check => ({ id: "keys-file", level: "fail", message: `  ${describeProblem(p)}` })),
    ];
  }
  if (keys.exists) {
    const mode = keys.mode;
    const problem = (keys.fileKeys ?? 0) > 0 ? keysFileModeProblem(mode) : undefined;
    if (problem)
      return [
        {
          id: "keys-file",
          level: problem.level,
          message: `${keys.path} ${problem.text}`,
          fix: `chmod 600 ${keys.path}`,
        },
      ];
    const modeText = mode === undefined ? "" : `, mode ${mode.toString(8)}`;
    return [
      {
        id: "keys-file",
        level: "ok",
        message:
          `${keys.path}${chosen}: ${keys.fileKeys ?? 0} enabled key(s) for ${provider}, ` + `no duplicates${modeText}`,
      },
    ];
  }
  if (keys.chosenBy)
    return [
      {
        id: "keys-file",
        level: "fail",
        message: `${keys.path}${chosen} does not exist`,
        fix: `create it, or remove the ${keys.chosenBy} setting`,
      },
    ];
  return [{ id: "keys-file", level: "info", message: `no keys file at ${keys.path} (optional)` }];
}

function unusedLogin(because: string, count: number): Check {
  return { id: "keys", level: "info", message: `${because}, so the ${count} key(s) stored at login are not used` };
}

export function keysCheck({ setup }: DoctorFacts): Check[] {
  const { keys, provider } = setup;
  const out: Check[] = [];
  const empty = `$${keys.envVariable} is set but holds no key (only separators, spaces or the placeholder)`;
  if (keys.envHoldsNoKey)
    out.push({
      id: "keys",
      level: "warn",
      message: `${empty}; keys come from the next source`,
      fix: `unset ${keys.envVariable}, or list keys in it: ${keys.envVariable}="key1,key2"`,
    });
  const loaded = keys.loaded;
  if (!loaded) {
    if (keys.loadError && keys.loadError !== keys.fileError)
      out.push({ id: "keys", level: "fail", message: keys.loadError, fix: "correct the setting named above" });
    return out;
  }
  const accounts = new Set(loaded.keys.map((k) => k.account)).size;
  const where = `${loaded.keys.length} key(s) in ${accounts} account(s)`;
  switch (loaded.keySource) {
    case "env":
      out.push({ id: "keys", level: "ok", message: `keys: ${where} from $${keys.envVariable}` });
      if (loaded.loginKeys > 0) out.push(unusedLogin(`$${keys.envVariable} is set`, loaded.loginKeys));
      if ((keys.fileKeys ?? 0) > 0)
        out.push({
          id: "keys",
          level: "info",
          message: `$${keys.envVariable} is set, so the ${keys.fileKeys} key(s) in ${keys.path} are not used`,
        });
      break;
    case "file":
      out.push({ id: "keys", level: "ok", message: `keys: ${where} from ${keys.path}` });
      if (loaded.loginKeys > 0) out.push(unusedLogin(`${keys.path} lists keys`, loaded.loginKeys));
      break;
    case "auth":
      out.push({
        id: "keys",
        level: "ok",
        message: `keys: ${where} from \`opencode providers login\` (stored in OpenCode auth)`,
      });
      break;
    case "none":
      out.push({
        id: "keys",
        level: "fail",
        message: `no API keys for ${provider}`,
        fix:
          `run \`opencode providers login --provider ${provider}\` and paste your keys, or list them in ` +
          `${keys.path}, ` +
          `or set ${keys.envVariable}`,
      });
      break;
    default:
      return loaded.keySource satisfies never;
  }
  return out;
}
