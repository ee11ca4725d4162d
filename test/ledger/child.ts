/**
 * A process sharing the machine ledger, for the multi-process tests. argv: <socket name> <mode> [args]
 * - hold <n>: takes n slots on account A (cap n), prints "held <role>", then stays until killed.
 * - work <requests> <holdMs> <cap>: acquires and releases slots on A/B one after another, prints "done <n>".
 */
import { systemClock } from "../../src/util/clock.js";
import { SharedLedger } from "../../src/ledger/shared-ledger.js";

const [name = "", mode = "hold", ...args] = process.argv.slice(2);
const keepAlive = setInterval(() => {}, 60_000);
const ledger = await SharedLedger.machine({
  address: name.startsWith("/") ? { path: name, isFile: true } : { path: `\0${name}`, isFile: false },
  clock: systemClock,
  onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  recoverMs: 50,
});
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === "hold") {
  const n = Number(args[0] ?? 1);
  for (let i = 0; i < n; i++) await ledger.acquire({ model: "m", seq: i, candidates: () => ["A"], cap: () => n, timeoutMs: 60_000 }, (g) => g);
  say(`held ${ledger.role}`);
} else {
  const requests = Number(args[0] ?? 10);
  const holdMs = Number(args[1] ?? 20);
  const cap = Number(args[2] ?? 1);
  say(`ready ${ledger.role}`);
  let done = 0;
  for (let i = 0; i < requests; i++) {
    const grant = await ledger.acquire({ model: "m", seq: i, candidates: () => ["A", "B"], cap: () => cap, timeoutMs: 30_000 }, (g) => g);
    await new Promise((r) => setTimeout(r, holdMs));
    grant.release();
    done++;
  }
  say(`done ${done}`);
  clearInterval(keepAlive);
  await ledger.close();
}
