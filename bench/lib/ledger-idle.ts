/** A process that only joins the machine ledger (and so coordinates it when first), for the overhead bench. argv: <socket name>. */
import { SharedLedger } from "../../src/ledger/shared-ledger.js";
import { systemClock } from "../../src/util/clock.js";

const ledger = await SharedLedger.machine({
  address: { path: process.argv[2] ?? "", isFile: true },
  clock: systemClock,
  onWarning: () => {},
});
process.stdout.write(`ready ${ledger.role}\n`);
setInterval(() => {}, 60_000);
