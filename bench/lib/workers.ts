import { spawn } from "node:child_process";

/**
 * Runs one worker process per environment (`node --import tsx <script> ...args`): waits until each printed "ready",
 * tells them all "go" at once, tells them "stop" after `limitMs` (when given), waits for every exit (a worker still
 * closing writes its state file) and returns each one's result: the first line of its output that is JSON.
 */
export async function runWorkerProcesses<T>(
  script: string,
  args: string[],
  envs: Array<Record<string, string>>,
  limitMs?: number,
): Promise<T[]> {
  const procs = envs.map((env) =>
    spawn(process.execPath, ["--import", "tsx", script, ...args], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...env },
    }),
  );
  const outputs = procs.map((p) => {
    let text = "";
    p.stdout.setEncoding("utf8").on("data", (c: string) => {
      text += c;
    });
    return () => text;
  });
  const exited = procs.map(
    (p) => new Promise<void>((resolve) => (p.exitCode !== null ? resolve() : p.once("exit", () => resolve()))),
  );
  while (!outputs.every((o) => o().includes("ready"))) await new Promise((r) => setTimeout(r, 10));
  for (const p of procs) p.stdin.write("go\n");
  const stop =
    limitMs === undefined ? undefined : setTimeout(() => procs.forEach((p) => p.stdin.write("stop\n")), limitMs);
  await Promise.all(exited);
  clearTimeout(stop);
  return outputs.map((o) => {
    const line = o()
      .split("\n")
      .find((l) => l.startsWith("{"));
    if (line === undefined) throw new Error(`${script} exited without a result`);
    return JSON.parse(line) as T;
  });
}
