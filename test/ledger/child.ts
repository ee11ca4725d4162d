/**
 * A process sharing the machine ledger, for the multi-process tests. argv: <socket name> <mode> [args]
 * - hold <n>: takes n slots on account A (cap n), prints "held <role>", then stays until killed.
 * - work <requests> <holdMs> <cap>: acquires and releases slots on A/B one after another, prints "done <n>".
 * - stream <requests> <holdMs> <cap> <agents> <observer socket>: `agents` loops acquire a slot on A/B, tell the
 *   observer "+<account>", hold it, tell "-<account>" (and wait for its "k": the observer counts in causal order),
 *   release; prints "done <n> <role>".
 */
import { createConnection } from "node:net";
import { systemClock } from "../../src/util/clock.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";

const [name = "", mode = "hold", ...args] = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 60_000);
const ledger = await SharedLedger.machine({
  address: name.startsWith("/") ? { path: name, isFile: true } : { path: `\0${name}`, isFile: false },
  clock: systemClock,
  onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  recoverMs: 300,
});
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === "hold") {
  const n = Number(args[0] ?? 1);
  for (let i = 0; i < n; i++)
    await ledger.acquire({ model: "m", seq: i, candidates: () => ["A"], cap: () => n, timeoutMs: 60_000 }, (g) => g);
  say(`held ${ledger.role}`);
} else if (mode === "stream") {
  const [requests, holdMs, cap, agents] = args.slice(0, 4).map(Number) as [number, number, number, number];
  const observer = createConnection({ path: args[4] ?? "" }).on("error", () => {});
  observer.write(`pid ${process.pid}\n`);
  const acks: Array<() => void> = [];
  observer.setEncoding("utf8").on("data", (chunk: string) => {
    for (const c of chunk) if (c === "k") acks.shift()?.();
  });
  const tell = (line: string) => new Promise<void>((resolve) => (acks.push(resolve), observer.write(`${line}\n`)));
  // The observer's "g" starts the agents: every process is on the ledger by then.
  const go = new Promise<void>((resolve) => observer.on("data", (chunk: string) => chunk.includes("g") && resolve()));
  say(`ready ${ledger.role}`);
  await go;
  // Every change of role, as seen every 10 ms (a coordinator that steps down shows "electing" or "client").
  let role = ledger.role;
  const roles = setInterval(() => role !== ledger.role && say(`role ${(role = ledger.role)}`), 10);
  let done = 0;
  let seq = 0;
  const agent = async () => {
    while (seq < requests) {
      const request = { model: "m", seq: seq++, candidates: () => ["A", "B"], cap: () => cap, timeoutMs: 60_000 };
      const grant = await ledger.acquire(request, (g) => g);
      await tell(`+${grant.account}`);
      await new Promise((r) => setTimeout(r, holdMs));
      await tell(`-${grant.account}`);
      grant.release();
      done++;
    }
  };
  await Promise.all(Array.from({ length: agents }, agent));
  say(`done ${done} ${ledger.role}`);
  clearInterval(roles);
  observer.end();
  clearInterval(keepAlive);
  await ledger.close();
} else {
  const requests = Number(args[0] ?? 10);
  const holdMs = Number(args[1] ?? 20);
  const cap = Number(args[2] ?? 1);
  say(`ready ${ledger.role}`);
  let done = 0;
  for (let i = 0; i < requests; i++) {
    const grant = await ledger.acquire(
      { model: "m", seq: i, candidates: () => ["A", "B"], cap: () => cap, timeoutMs: 30_000 },
      (g) => g,
    );
    await new Promise((r) => setTimeout(r, holdMs));
    grant.release();
    done++;
  }
  say(`done ${done}`);
  clearInterval(keepAlive);
  await ledger.close();
}
