import { PLACEHOLDER_KEY, type ApiKey } from "./keys.js";
import type { ProviderId } from "./schema.js";

/**
 * What `opencode providers login` stores for the provider (auth.json): the text typed into OpenCode's masked
 * "Enter your API key" field as `key`, the answers to the plugin's prompts as `metadata`.
 */
export interface LoginCredential {
  readonly key: string;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** The login prompt's key in `metadata`, and its answers: how the pasted keys map to Z.AI accounts. */
export const ACCOUNTS_PROMPT = "accounts";
export const ACCOUNT_MAPPINGS = ["each", "one", "named", "elsewhere"] as const;
export type AccountMapping = (typeof ACCOUNT_MAPPINGS)[number];

/** The account of every key when they all belong to one ("one"). */
export const LOGIN_ACCOUNT = "login";

export interface LoginKeys {
  keys: ApiKey[];
  mapping: AccountMapping;
  /** What was wrong with the pasted text, by position only (never the text). */
  problems: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A credential as stored (a bare key string from older setups counts as a credential without metadata). */
export function loginCredential(auth: string | LoginCredential | undefined): LoginCredential | undefined {
  return typeof auth === "string" ? { key: auth } : auth;
}

/** The mapping the login answered; without metadata (a key typed at the built-in prompt): each key its own account. */
export function accountMapping(credential: LoginCredential): AccountMapping {
  const answer = credential.metadata?.[ACCOUNTS_PROMPT];
  return (ACCOUNT_MAPPINGS as readonly string[]).includes(answer ?? "") ? (answer as AccountMapping) : "each";
}

/**
 * The keys in a stored login credential, grouped as the login answered. Keys are separated by commas, semicolons,
 * spaces or new lines; the placeholder and repeats are dropped. "named": each entry is `account=key`.
 * "elsewhere": the keys are in the keys file or the environment; what was typed is not a key source.
 * A single key without login metadata keeps its old id, `opencode-auth`.
 */
export function keysFromLogin(credential: LoginCredential, provider: ProviderId): LoginKeys {
  const mapping = accountMapping(credential);
  if (mapping === "elsewhere") return { keys: [], mapping, problems: [] };
  const tokens = [...new Set(credential.key.split(/[\s,;]+/).filter((t) => t.length > 0 && t !== PLACEHOLDER_KEY))];
  const problems: string[] = [];
  if (tokens.length === 1 && credential.metadata?.[ACCOUNTS_PROMPT] === undefined) {
    return { mapping, problems, keys: [key("opencode-auth", "OpenCode auth", tokens[0]!, "opencode-auth", provider)] };
  }
  const entries = tokens.map((token, index) => {
    const id = `login-${index + 1}`;
    if (mapping === "each") return { id, account: id, apiKey: token };
    if (mapping === "one") return { id, account: LOGIN_ACCOUNT, apiKey: token };
    const at = token.indexOf("=");
    const name = at > 0 ? token.slice(0, at) : "";
    const apiKey = at > 0 ? token.slice(at + 1) : token;
    if (!NAME.test(name)) {
      problems.push(`key ${index + 1} of the login has no valid \`account=\` name before it; it is account ${id}`);
      return { id, account: id, apiKey };
    }
    return { id, account: name, apiKey };
  });
  const seen = new Set<string>();
  const keys: ApiKey[] = [];
  for (const entry of entries) {
    if (entry.apiKey.length === 0 || seen.has(entry.apiKey)) continue;
    seen.add(entry.apiKey);
    keys.push(key(entry.id, entry.id, entry.apiKey, entry.account, provider));
  }
  return { keys, mapping, problems };
}

function key(id: string, label: string, apiKey: string, account: string, provider: ProviderId): ApiKey {
  return { id, label, apiKey, account, provider, source: "auth" };
}
