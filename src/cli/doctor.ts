import type { ProviderId } from "../config/schema.js";
import { inspectLedger, ledgerCheck } from "../ledger/inspect.js";
import type { CliEnv } from "./cli-env.js";
import { DEFAULT_BASE_URL, doctorChecks } from "./doctor-checks.js";
import { gatherDoctorFacts } from "./doctor-facts.js";
import { PROBE_NOTE, runProbes, type ProbeResult } from "./probe.js";
import { countLevels, plural, renderCheck, type Check } from "./report.js";
import { quotaKeyChecks } from "../quota/key-check.js";

export interface DoctorOptions {
  provider: ProviderId;
  json: boolean;
  probe: boolean;
  models: string[];
  /** Check every key through the quota endpoint (issue 12). */
  keys?: boolean;
}

export interface DoctorReport {
  command: "doctor";
  version: string;
  provider: ProviderId;
  ok: boolean;
  problems: number;
  warnings: number;
  checks: Check[];
  probe?: { url: string; note: string; results: ProbeResult[] };
}

/** `doctor`: the troubleshooting checklist, optionally with one live request per key. Exit 0 when nothing is wrong. */
export async function doctorCommand(cli: CliEnv, options: DoctorOptions): Promise<number> {
  if (options.probe) (options.json ? cli.stderr : cli.stdout)(`${PROBE_NOTE}\n`);
  const facts = await gatherDoctorFacts(cli, options.provider);
  const { setup } = facts;
  const ledger = await inspectLedger({
    env: cli.env,
    homedir: cli.homedir,
    statePath: setup.statePath,
    provider: options.provider,
    redisFromFile: setup.keys.loaded?.settings.redis,
  });
  const checks = [...doctorChecks(facts), ledgerCheck(ledger)];
  if (options.keys) {
    // Every key through the quota endpoint: it spends nothing and names the keys Z.AI refuses.
    const baseURL = setup.baseURL?.value ?? DEFAULT_BASE_URL[options.provider];
    checks.push(...(await quotaKeyChecks(setup.keys.loaded?.keys ?? [], baseURL, cli.fetch, cli.clock)));
  }
  let probe: DoctorReport["probe"];
  if (options.probe) {
    const baseURL = setup.baseURL?.value ?? DEFAULT_BASE_URL[options.provider];
    const keys = setup.keys.loaded?.keys ?? [];
    const results = await runProbes(keys, options.models, baseURL, cli.fetch, () => cli.clock.now(), setup.keys.path);
    probe = { url: `${baseURL.replace(/\/+$/, "")}/chat/completions`, note: PROBE_NOTE, results };
  }
  const { problems, warnings } = countLevels([...checks, ...(probe?.results ?? [])]);
  const report: DoctorReport = {
    command: "doctor",
    version: cli.version,
    provider: options.provider,
    ok: problems === 0,
    problems,
    warnings,
    checks,
    ...(probe ? { probe } : {}),
  };
  cli.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
  return problems === 0 ? 0 : 1;
}

export function renderDoctor(report: DoctorReport): string {
  const lines = [
    `oc-zai-multi-account ${report.version} doctor (${report.provider})`,
    ...report.checks.map(renderCheck),
  ];
  if (report.probe) {
    lines.push(`probe: POST ${report.probe.url}`);
    if (report.probe.results.length === 0) lines.push("  info  no keys to probe");
    for (const r of report.probe.results) {
      const who = r.account === r.key ? r.key : `${r.key} (account ${r.account})`;
      lines.push(
        renderCheck({
          id: "probe",
          level: r.level,
          message: `${who} ${r.model}: ${r.result} - ${r.message}`,
          ...(r.fix ? { fix: r.fix } : {}),
        }),
      );
    }
  }
  const warnings = report.warnings > 0 ? ` (${plural(report.warnings, "warning")})` : "";
  const andWarnings = report.warnings > 0 ? `, ${plural(report.warnings, "warning")}` : "";
  lines.push(
    report.ok
      ? `All good${warnings}.`
      : `${plural(report.problems, "problem")}${andWarnings}: see the fix lines above.`,
  );
  return `${lines.join("\n")}\n`;
}
