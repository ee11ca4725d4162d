/** S1 saturation: 3 accounts with a real limit of 4, configured right (maxConcurrency 4). */
import { percent } from "../lib/stats.js";
import type { Targets } from "../lib/table.js";
import { runLoadScenario, type LoadReport } from "./load.js";

export const runS1 = (): Promise<LoadReport> =>
  runLoadScenario({ id: "S1", configuredLimit: 4, realLimit: [{ from: 0, limit: 4 }] });

export function checkS1(report: LoadReport, targets: Targets): void {
  const p = report.rows.find((r) => r.kind === "plugin")!;
  targets.check("S1", "efficiency ≥ 0.95", p.efficiency.toFixed(3), p.efficiency >= 0.95);
  targets.check(
    "S1",
    "zero 1302s upstream",
    `${p.refused1302} (${percent(p.refused1302, p.total)})`,
    p.refused1302 === 0,
  );
  targets.check("S1", "zero caller failures", String(p.callerFailures + p.gaveUp), p.callerFailures + p.gaveUp === 0);
}
