/** S2 wrong limits: as S1, but the plugin is configured with maxConcurrency 10 while the real limit is 4. */
import { percent } from "../lib/stats.js";
import type { Targets } from "../lib/table.js";
import { runLoadScenario, type LoadReport } from "./load.js";

export const runS2 = (): Promise<LoadReport> =>
  runLoadScenario({ id: "S2", configuredLimit: 10, realLimit: [{ from: 0, limit: 4 }] });

export function checkS2(report: LoadReport, targets: Targets): void {
  const p = report.rows.find((r) => r.kind === "plugin")!;
  targets.check("S2", "efficiency ≥ 0.90", p.efficiency.toFixed(3), p.efficiency >= 0.9);
  targets.check(
    "S2",
    "1302s < 2% of the 480 requests",
    `${p.refused1302} (${percent(p.refused1302, p.total)})`,
    p.refused1302 < 0.02 * p.total,
  );
}
