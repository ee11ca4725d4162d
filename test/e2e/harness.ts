/**
 * Drives the real opencode binary (pinned in e2e/package.json) offline, each case in throwaway HOME and XDG
 * dirs, with the built plugin dist/index.js and a project opencode.json pointing the provider at the simulator.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The platform package's binary, installed by scripts/e2e-setup.mjs (the opencode-ai shim needs its postinstall). */
export const OC_BIN = join(
  ROOT,
  "e2e",
  "node_modules",
  `opencode-${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`,
  "bin",
  process.platform === "win32" ? "opencode.exe" : "opencode",
);
export const PLUGIN = join(ROOT, "dist", "index.js");
/** The entry for zhipuai-coding-plan (1.x ignores named exports under an object default, so it is its own module). */
export const PLUGIN_ZHIPU = join(ROOT, "dist", "zhipu.js");
/** What the README tells users to enter at `opencode providers login`. */
export const PLACEHOLDER = "oc-zai-multi-account-managed";
const PLUGIN_SDK_VERSION = "1.18.33";

export interface OcEnv {
  root: string;
  proj: string;
  env: Record<string, string>;
  authFile: string;
  keysFile: string;
  cleanup(): void;
}

export interface EnvOptions {
  baseURL: string;
  /** Written to $XDG_CONFIG_HOME/opencode/zai-keys.json (mode 0600). */
  keysFile?: unknown;
  /** Stored as OpenCode's credential; undefined leaves auth.json out (for the login case). */
  authKey?: string;
  env?: Record<string, string>;
  /** false: an opencode.json without the plugin (the built-in provider alone). */
  plugin?: boolean;
  /** `plugin` entries instead of the main entry alone. */
  plugins?: string[];
  /** More `provider` entries for opencode.json (e.g. zhipuai-coding-plan, which 1.18.33's registry lacks). */
  providers?: Record<string, unknown>;
  /** Providers the stored credential is written for (default zai-coding-plan). */
  authProviders?: string[];
}

export function makeEnv(options: EnvOptions): OcEnv {
  const root = mkdtempSync(join(tmpdir(), "oc-e2e-"));
  const dir = (...parts: string[]) => {
    const path = join(root, ...parts);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const home = dir("home");
  const config = dir("config");
  const data = dir("data");
  const proj = dir("proj");
  const configDir = dir("config", "opencode");
  dir("config", "opencode", "node_modules");
  dir("data", "opencode");
  // A pre-seeded config dir makes opencode skip its `npm install @opencode-ai/plugin` (70+ s of retries offline).
  writeFileSync(
    join(configDir, "package.json"),
    JSON.stringify({ dependencies: { "@opencode-ai/plugin": PLUGIN_SDK_VERSION } }),
  );
  writeFileSync(
    join(configDir, "package-lock.json"),
    JSON.stringify({
      lockfileVersion: 3,
      packages: { "": { dependencies: { "@opencode-ai/plugin": PLUGIN_SDK_VERSION } } },
    }),
  );
  const authFile = join(data, "opencode", "auth.json");
  if (options.authKey !== undefined) {
    const auth = Object.fromEntries(
      (options.authProviders ?? ["zai-coding-plan"]).map((id) => [id, { type: "api", key: options.authKey }]),
    );
    writeFileSync(authFile, JSON.stringify(auth), { mode: 0o600 });
  }
  const keysFile = join(configDir, "zai-keys.json");
  if (options.keysFile !== undefined) {
    writeFileSync(keysFile, JSON.stringify(options.keysFile));
    chmodSync(keysFile, 0o600);
  }
  writeFileSync(
    join(proj, "opencode.json"),
    JSON.stringify({
      $schema: "https://opencode.ai/config.json",
      plugin: options.plugin === false ? [] : (options.plugins ?? [`file://${PLUGIN}`]),
      provider: { "zai-coding-plan": { options: { baseURL: options.baseURL } }, ...options.providers },
    }),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !/^(ZHIPU_API_KEY|ZAI_API_KEY|ZAI_API_KEYS|ZAI_KEYS_FILE|ZAI_STATE_FILE|OPENCODE_.*)$/.test(k)
    )
      env[k] = v;
  }
  Object.assign(env, {
    // opencode takes its working directory from $PWD: it must equal the spawn cwd.
    PWD: proj,
    HOME: home,
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: data,
    XDG_CACHE_HOME: dir("cache"),
    XDG_STATE_HOME: dir("state"),
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    ...options.env,
  });
  return { root, proj, env, authFile, keysFile, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runOc(e: OcEnv, args: string[], timeoutMs = 90_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(OC_BIN, args, { env: e.env, cwd: e.proj, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export interface RunEvent {
  type: string;
  part?: { text?: string };
  error?: {
    name?: string;
    data?: { message?: string; statusCode?: number; isRetryable?: boolean; responseBody?: string };
  };
}

export interface RunOptions {
  model?: string;
  /** A session title: OpenCode then skips its title-generation call (one model call per run instead of two). */
  title?: string;
  /** `--format json` (default) or the formatted output a user sees. */
  json?: boolean;
  timeoutMs?: number;
}

/** `opencode run`; with `--format json` (default) one JSON event a line, parsed. */
export async function ocRun(e: OcEnv, prompt: string, options: RunOptions = {}) {
  const { model = "zai-coding-plan/glm-4.7", title, json = true, timeoutMs = 90_000 } = options;
  const args = [
    "run",
    prompt,
    "--model",
    model,
    ...(title === undefined ? [] : ["--title", title]),
    ...(json ? ["--format", "json"] : []),
  ];
  const result = await runOc(e, args, timeoutMs);
  const events: RunEvent[] = result.stdout
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as RunEvent];
      } catch {
        return [];
      }
    });
  const text = events
    .filter((x) => x.type === "text")
    .map((x) => x.part?.text ?? "")
    .join("");
  const error = events.find((x) => x.type === "error")?.error;
  return { ...result, events, text, error };
}

export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

/** `opencode providers login` over pipes, answering its prompts like a user (Enter is "\r"); test/e2e/tmux.ts for a terminal. */
export function login(e: OcEnv, key: string, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(OC_BIN, ["providers", "login", "--provider", "zai-coding-plan"], {
      env: e.env,
      cwd: e.proj,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let sent = false;
    let mapped = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      // The plugin's select (how keys map to accounts): Enter takes the first answer, "each key its own account".
      if (!mapped && stripAnsi(out).replace(/\s+/g, "").includes("Howdoyourkeysmap")) {
        mapped = true;
        child.stdin.write("\r");
      }
      if (!sent && stripAnsi(out).replace(/\s+/g, "").includes("EnteryourAPIkey")) {
        sent = true;
        child.stdin.write(`${key}\r`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`login timed out:\n${stripAnsi(out)}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out: stripAnsi(out) });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export interface Serve {
  url: string;
  createSession(title: string): Promise<{ id: string }>;
  /** Resolves when the assistant turn is finished, retries included. */
  prompt(
    id: string,
    text: string,
    modelID?: string,
  ): Promise<{ info: { error?: unknown }; parts: Array<{ type: string; text?: string }> }>;
  promptAsync(id: string, text: string, modelID?: string): Promise<void>;
  status(): Promise<Record<string, { type: string; attempt?: number; message?: string; next?: number }>>;
  abort(id: string): Promise<void>;
  stop(): Promise<void>;
}

/** `opencode serve` on 127.0.0.1 and a free port, with the session API used by the cases. */
export async function startServe(e: OcEnv, timeoutMs = 60_000): Promise<Serve> {
  const port = await freePort();
  const child = spawn(OC_BIN, ["serve", "--port", String(port), "--hostname", "127.0.0.1"], {
    env: e.env,
    cwd: e.proj,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`opencode serve did not start:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`opencode serve exited ${code}:\n${stdout}${stderr}`)));
  });
  const query = `directory=${encodeURIComponent(e.proj)}`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}${path.includes("?") ? "&" : "?"}${query}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  const model = (modelID: string) => ({ providerID: "zai-coding-plan", modelID });
  return {
    url,
    createSession: async (title) => (await api("POST", "/session", { title })) as { id: string },
    prompt: async (id, text, modelID = "glm-4.7") =>
      (await api("POST", `/session/${id}/message`, {
        model: model(modelID),
        parts: [{ type: "text", text }],
      })) as Awaited<ReturnType<Serve["prompt"]>>,
    promptAsync: async (id, text, modelID = "glm-4.7") => {
      await api("POST", `/session/${id}/prompt_async`, { model: model(modelID), parts: [{ type: "text", text }] });
    },
    status: async () => (await api("GET", "/session/status")) as Awaited<ReturnType<Serve["status"]>>,
    abort: async (id) => {
      await api("POST", `/session/${id}/abort`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}

type CaseResource = OcEnv | { close(): Promise<void> } | { stop(): Promise<void> };

/**
 * Registers an `afterEach` that releases, newest first, what a case handed to `keep`: OpenCode servers, simulators,
 * Redis servers, throwaway environments. `keep` returns its argument.
 */
export function keepForCase(): <T extends CaseResource>(resource: T) => T {
  const kept: CaseResource[] = [];
  afterEach(async () => {
    for (const resource of kept.splice(0).reverse()) {
      if ("cleanup" in resource) resource.cleanup();
      else if ("stop" in resource) await resource.stop();
      else await resource.close();
    }
  });
  return (resource) => {
    kept.push(resource);
    return resource;
  };
}
