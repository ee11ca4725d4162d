import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, stat, symlink, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { nodeStateFs, systemClock } from "../../src/lib.js";
import { withLock } from "../../src/state/lock.js";

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "dist", "cli.js");

/** Builds once when dist/cli.js is missing or older than a source file; `npm test` has built already. */
export async function ensureBuilt(): Promise<void> {
  await withLock(
    nodeStateFs,
    join(tmpdir(), "oc-zai-multi-account-build.lock"),
    systemClock,
    async () => {
      if (!(await isStale())) return;
      await run("npm", ["run", "build"], { cwd: ROOT });
    },
    { timeoutMs: 180_000, staleMs: 180_000 },
  );
}

async function isStale(): Promise<boolean> {
  const built = await stat(CLI).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const newest = async (dir: string): Promise<number> => {
    let max = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      max = Math.max(max, entry.isDirectory() ? await newest(path) : (await stat(path)).mtimeMs);
    }
    return max;
  };
  return built === 0 || (await newest(join(ROOT, "src"))) > built;
}

/** A throwaway HOME with XDG dirs and a project directory (a git root, so config lookup stops there). */
export interface Sandbox {
  root: string;
  home: string;
  project: string;
  configDir: string;
  keysFile: string;
  authFile: string;
  stateFile: string;
  env: Record<string, string>;
}

export const KEYS = { main: "sk-test-a", spare: "sk-test-b", work: "sk-test-c" } as const;

export async function sandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "zai-cli-"));
  const home = join(root, "home");
  const project = join(root, "project");
  const configDir = join(home, ".config", "opencode");
  await mkdir(join(project, ".git"), { recursive: true });
  await mkdir(configDir, { recursive: true });
  await mkdir(join(home, ".local", "share", "opencode"), { recursive: true });
  const env = {
    PATH: process.env.PATH ?? "",
    // The machine's own OpenCode (if any) must not decide which generation doctor checks for.
    OPENCODE_BIN: join(root, "no-opencode-here"),
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    TZ: "UTC",
  };
  return {
    root,
    home,
    project,
    configDir,
    keysFile: join(configDir, "zai-keys.json"),
    authFile: join(home, ".local", "share", "opencode", "auth.json"),
    stateFile: join(home, ".local", "state", "opencode", "zai-multi-account-state.json"),
    env,
  };
}

/**
 * What OpenCode 1.x leaves after installing an npm plugin: `~/.cache/opencode/packages/<spec>/node_modules/<name>`
 * (here a link to this checkout, whose dist/ is built).
 */
export async function installInOpencodeCache(box: Sandbox, cacheKey = "oc-zai-multi-account@latest"): Promise<string> {
  const dir = join(box.home, ".cache", "opencode", "packages", cacheKey, "node_modules");
  await mkdir(dir, { recursive: true });
  await symlink(ROOT, join(dir, "oc-zai-multi-account"), "dir");
  return dir;
}

/** The setup the README describes: plugin by npm name (installed by OpenCode), provider stub, placeholder login, keys file 0600. */
export async function correctSetup(
  box: Sandbox,
  opencode: unknown = defaultOpencodeConfig(),
  options: { installed?: boolean } = {},
): Promise<void> {
  if (options.installed !== false) await installInOpencodeCache(box).catch(() => undefined);
  await writeFile(
    join(box.configDir, "opencode.jsonc"),
    `// written by the test\n${JSON.stringify(opencode, null, 2)}\n`,
  );
  await writeFile(
    box.authFile,
    JSON.stringify({ "zai-coding-plan": { type: "api", key: "oc-zai-multi-account-managed" } }),
    { mode: 0o600 },
  );
  await writeKeys(box, {
    keys: [
      { id: "main", label: "Main", apiKey: KEYS.main, account: "personal" },
      { id: "spare", apiKey: KEYS.spare, account: "personal" },
      { id: "work", apiKey: KEYS.work },
    ],
  });
}

export function defaultOpencodeConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    $schema: "https://opencode.ai/config.json",
    plugin: ["oc-zai-multi-account"],
    provider: { "zai-coding-plan": {} },
    ...extra,
  };
}

export async function writeKeys(box: Sandbox, content: unknown, mode = 0o600): Promise<void> {
  await writeFile(box.keysFile, typeof content === "string" ? content : JSON.stringify(content));
  await chmod(box.keysFile, mode);
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: box.project,
      env: { ...box.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** A fake Z.AI on 127.0.0.1: answers by key and model; records what it was sent. */
export async function fakeZai(answer: (key: string, model: string) => { status: number; body: unknown }) {
  const requests: Array<{ url: string; key: string; body: Record<string, unknown> }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      const body = JSON.parse(text || "{}") as Record<string, unknown>;
      requests.push({ url: req.url ?? "", key, body });
      const { status, body: out } = answer(key, String(body.model));
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/api/coding/paas/v4`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
