import type { ProviderId } from "../config/schema.js";
import { inspectLedger, renderLedger, type LedgerView } from "../ledger/inspect.js";
import { stateIds } from "../state/ids.js";
import { pruneState } from "../state/merge.js";
import { parseLearnedTarget, resolveResetScope, withLearnedReset, withResetMarkers } from "../state/reset.js";
import { startLimit } from "../config/schema.js";
import { limitLookup } from "./limit-view.js";
import { emptyProviderState, type ProviderState } from "../state/state-schema.js";
import { contentOf, readStateFile, updateStateFile } from "../state/store.js";
import type { CliEnv } from "./cli-env.js";
import { formatLocalTime } from "../util/format.js";
import {
  accountStatuses,
  clearedByReset,
  describeSource,
  ignoredEntries,
  learnedResets,
  type AccountStatus,
} from "./status-report.js";
import { readSetup } from "./setup.js";
import { quotaFilePath, readQuotaFile } from "../quota/quota-file.js";
import { quotaLine, quotaStatus, type QuotaStatus } from "../quota/quota-status.js";
import { generationOf, type Generation } from "./opencode-generation.js";
import { keyResultText, type KeyResult } from "../quota/key-check.js";
import { loginCheckPath, readLoginCheck, resultsOf } from "../quota/login-check-file.js";

export interface StatusOptions {
  provider: ProviderId;
  json: boolean;
  reset: string | undefined;
}

export interface StatusReport {
  command: "status";
  version: string;
  provider: ProviderId;
  now: string;
  stateFile: string | null;
  stateProblem?: string;
  configProblem?: string;
  keysFrom: string;
  /**
   * The installed OpenCode (`opencode --version`, OPENCODE_BIN) and the plugin API it loads; null when it cannot run.
   */
  opencode: { version: string; generation: Generation | null } | null;
  accounts: Array<AccountStatus & { quota?: QuotaStatus }>;
  ignoredEntries: number;
  /**
   * What a `--reset` cleared, and how many learned limits it left in place (only `--reset learned...` resets those).
   */
  reset?: { target: string; cleared: string[]; learnedKept: number };
  /** Slots in flight across processes (and machines with Redis), from the ledger itself. */
  ledger?: LedgerView;
  /** The ledger's pairs with their current limit (learned, or where it starts): "3/5 in flight". */
  slots?: Array<{ account: string; model: string; inFlight: number; limit: number; learned: boolean; queued: number }>;
  /** The check of the keys stored at `opencode providers login` (first start after it). */
  keyCheck?: { at: string; complete: boolean; keys: KeyResult[] };
}

/** `status`: what the state file says about each configured account and key; `--reset` clears entries first. */
export async function statusCommand(cli: CliEnv, options: StatusOptions): Promise<number> {
  const setup = await readSetup(cli, options.provider);
  const loaded = setup.keys.loaded;
  const keys = loaded?.keys ?? [];
  const ids = stateIds(keys);
  const path = setup.statePath;
  const now = cli.clock.now();

  const startOf = (model: string) => startLimit(loaded?.settings, model);
  let reset: StatusReport["reset"];
  if (options.reset !== undefined) {
    if (path === undefined) return fail(cli, "the state file is off (ZAI_STATE_FILE=off): there is nothing to reset");
    const learned = parseLearnedTarget(options.reset, keys);
    if (learned && "error" in learned) return fail(cli, learned.error);
    const scope = learned ? undefined : resolveResetScope(options.reset, keys);
    if (!learned && !scope) {
      const known =
        [...new Set([...keys.map((k) => k.id), ...keys.map((k) => k.account)])].join(", ") || "none configured";
      return fail(
        cli,
        `no key or account named "${options.reset}" (known: ${known}; or use "all", or "learned" for learned limits)`,
      );
    }
    let before: ProviderState = emptyProviderState();
    let after: ProviderState = emptyProviderState();
    try {
      const read = await updateStateFile(cli.stateFs, path, cli.clock, (current) => {
        const file = contentOf(current);
        before = pruneState(file.providers[options.provider] ?? emptyProviderState(), now);
        after = learned
          ? withLearnedReset(before, learned, ids, startOf, now)
          : withResetMarkers(before, scope!, ids, now);
        return { ...file, providers: { ...file.providers, [options.provider]: after } };
      });
      if (read.kind === "unreadable") return fail(cli, `${read.problem}: nothing was reset`);
    } catch (error) {
      return fail(cli, `${error instanceof Error ? error.message : String(error)}: nothing was reset`);
    }
    const kept = learned ? 0 : Object.values(after.limits).reduce((n, models) => n + Object.keys(models).length, 0);
    reset = {
      target: options.reset,
      cleared: [...clearedByReset(before, after, keys, ids), ...learnedResets(before, after, ids)],
      learnedKept: kept,
    };
  }

  const read = path === undefined ? undefined : await readStateFile(cli.stateFs, path);
  const section =
    read?.kind === "ok" ? (read.file.providers[options.provider] ?? emptyProviderState()) : emptyProviderState();
  const state = pruneState(section, now);
  const quotas = path === undefined ? undefined : await readQuotaFile(cli.stateFs, quotaFilePath(path));
  const redisFromFile = loaded?.settings.redis;
  const ledger = await inspectLedger({
    env: cli.env,
    homedir: cli.homedir,
    statePath: path,
    provider: options.provider,
    redisFromFile,
  });
  const limitOf = limitLookup(state, ids, loaded?.settings);
  const check = path && (await readLoginCheck(cli.stateFs, loginCheckPath(path), options.provider));
  const report: StatusReport = {
    command: "status",
    version: cli.version,
    provider: options.provider,
    now: new Date(now).toISOString(),
    stateFile: path ?? null,
    ...(read?.kind === "corrupt" ? { stateProblem: `state file is corrupt (${read.problem})` } : {}),
    ...(read?.kind === "unreadable" ? { stateProblem: read.problem } : {}),
    ...(setup.keys.loadError ? { configProblem: setup.keys.loadError } : {}),
    keysFrom: describeSource(loaded?.keySource ?? "none", setup.keys.path, setup.keys.envVariable),
    opencode: await installedOpencode(cli),
    accounts: accountStatuses({ keys, state, ids, now, startOf }).map((a) => {
      const quota =
        quotas &&
        quotaStatus(quotas, options.provider, a.account, ids, {
          threshold: loaded?.settings.quota.threshold ?? 0.95,
          now,
        });
      return quota ? { ...a, quota } : a;
    }),
    ignoredEntries: ignoredEntries(state, ids),
    ...(reset ? { reset } : {}),
    ledger,
    slots: ledger.pairs.map((p) => ({
      account: p.account,
      model: p.model,
      inFlight: p.inFlight,
      ...limitOf(p.account, p.model),
      queued: p.queued,
    })),
    ...(check
      ? { keyCheck: { at: new Date(check.at).toISOString(), complete: check.complete, keys: resultsOf(check) } }
      : {}),
  };
  cli.stdout(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report, now));
  return setup.keys.loadError ? 1 : 0;
}

async function installedOpencode(cli: CliEnv): Promise<StatusReport["opencode"]> {
  const version = (await cli.opencodeVersion())?.trim();
  return version ? { version, generation: generationOf(version) ?? null } : null;
}

function fail(cli: CliEnv, message: string): number {
  cli.stderr(`oc-zai-multi-account status: ${message}\n`);
  return 1;
}

export function renderStatus(report: StatusReport, now: number): string {
  const lines: string[] = [];
  if (report.reset) {
    const { cleared, learnedKept, target } = report.reset;
    const what =
      cleared.length > 0 ? `cleared ${cleared.join("; ")}` : "no cooldown, disabled key or unavailable model was set";
    const kept =
      learnedKept > 0
        ? ` ${learnedKept} learned limit(s) kept: \`status --reset learned\` resets them to their start.`
        : "";
    lines.push(`reset ${target}: ${what}.${kept} Running OpenCode processes follow within a few seconds.`, "");
  }
  const keyCount = report.accounts.reduce((n, a) => n + a.keys.length, 0);
  lines.push(`${report.provider}: ${keyCount} key(s) in ${report.accounts.length} account(s) from ${report.keysFrom}`);
  lines.push(`state file: ${report.stateFile ?? "off (ZAI_STATE_FILE=off)"}`);
  if (report.stateProblem) lines.push(`  warn  ${report.stateProblem}; showing no state`);
  if (report.configProblem) lines.push(`  FAIL  ${report.configProblem}`);
  lines.push(`opencode: ${openCodeLine(report.opencode)}`);
  for (const account of report.accounts) {
    lines.push("", `account ${account.account}: ${account.usable ? "usable" : account.why}`);
    const width = Math.max(...account.keys.map((k) => displayName(k).length));
    for (const key of account.keys)
      lines.push(`  key ${displayName(key).padEnd(width)}  ${key.usable ? "usable" : key.why}`);
    for (const limit of account.limits) {
      const start = limit.limit === limit.start ? "its start" : `starts at ${limit.start}`;
      lines.push(
        `  learned limit: ${limit.model} at most ${limit.limit} in flight (${start}; learned ` +
          `${formatLocalTime(Date.parse(limit.learnedAt), now)})`,
      );
    }
    for (const u of account.unavailable) lines.push(`  unavailable: ${u.model}: ${u.why}`);
    if (account.quota) lines.push(`  ${quotaLine(account.quota, now)}`);
  }
  if (report.keyCheck) {
    const { at, complete, keys } = report.keyCheck;
    const again = complete ? "" : "; checked again at the next start";
    lines.push("", `keys checked at login (${formatLocalTime(Date.parse(at), now)}${again}):`);
    for (const r of keys) lines.push(`  ${keyResultText(r)}`);
  }
  if (report.ledger) lines.push("", ...slotLines(report.ledger, report.slots ?? []));
  if (report.ignoredEntries > 0)
    lines.push(
      "",
      `${report.ignoredEntries} state entr${report.ignoredEntries === 1 ? "y is" : "ies are"} for keys or ` +
        "accounts not configured now (ignored)",
    );
  return `${lines.join("\n")}\n`;
}

/** The ledger's line, then "account/model: 3/5 in flight (holders), 1 waiting" for each pair in use. */
function slotLines(ledger: LedgerView, slots: NonNullable<StatusReport["slots"]>): string[] {
  const [head, ...rest] = renderLedger({ ...ledger, pairs: [] });
  const lines = [head ?? ""];
  for (const [i, s] of slots.entries()) {
    if (s.inFlight === 0 && s.queued === 0) continue;
    const holders = (ledger.pairs[i]?.holders ?? []).map((h) => `${h.host} pid ${h.pid}`).join(", ");
    const limit = `${s.inFlight}/${s.limit}${s.learned ? " (learned)" : ""}`;
    lines.push(`  ${s.account}/${s.model}: ${limit} in flight${holders ? ` (${holders})` : ""}, ${s.queued} waiting`);
  }
  return lines.length === 1 ? [...lines, ...rest] : lines;
}

function openCodeLine(opencode: StatusReport["opencode"]): string {
  if (!opencode) return "not found (set OPENCODE_BIN, or put opencode on PATH; `doctor` checks the setup)";
  return opencode.generation
    ? `${opencode.version} (plugin API ${opencode.generation}.x)`
    : `${opencode.version} (unknown plugin API)`;
}

function displayName(key: { id: string; label: string }): string {
  return key.label !== key.id ? `${key.id} (${key.label})` : key.id;
}
