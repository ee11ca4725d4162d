/**
 * S3 limit drop: the real limit falls from 4 to 2 on every account halfway through the ideal run time and comes
 * back to 4 at 75% (timed from the start, identical for every contender; the ideal time accounts for the drop).
 */
import type { Targets } from "../lib/table.js";
import { runLoadScenario, type LoadReport } from "./load.js";

export const runS3 = (): Promise<LoadReport> =>
  runLoadScenario({
    id: "S3",
    configuredLimit: 4,
    realLimit: [
      { from: 0, limit: 4 },
      { from: 0.5, limit: 2 },
      { from: 0.75, limit: 4 },
    ],
  });

export function checkS3(report: LoadReport, targets: Targets): void {
  const p = report.rows.find((r) => r.kind === "plugin")!;
  targets.check("S3", "zero caller failures", String(p.callerFailures + p.gaveUp), p.callerFailures + p.gaveUp === 0);
  targets.check("S3", "efficiency ≥ 0.85", p.efficiency.toFixed(3), p.efficiency >= 0.85);
}
