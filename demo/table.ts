import type { ZaiFetch } from "../src/lib.js";
import { formatLocalTime, formatWait } from "../src/util/format.js";

export interface Progress {
  done: number;
  failed: number;
  total: number;
  startedAt: number;
}

/** One frame of the live per-account table: in flight / limit per model, done, waiting, cooling until. */
export function renderTable(fetch: ZaiFetch, models: readonly string[], progress: Progress, servedBy: Map<string, number>, now: number): string {
  const { pool, scheduler, limits } = fetch;
  const head = ["account", ...models.map((m) => `${m} in flight/limit`), "done", "state"];
  const rows = pool.accounts.map((account) => {
    const cells = models.map((m) => `${scheduler.inFlight(account, m)}/${limits.limit(account, m)}`);
    const blockers = models.map((m) => pool.blocker(account, m, now)).filter((b) => b !== undefined);
    const first = blockers[0];
    let state = "serving";
    if (first?.kind === "account-cooling") state = `cooling until ${formatLocalTime(first.until, now)} (${first.code ?? ""})`;
    else if (first?.kind === "account-disabled" || first?.kind === "keys-disabled") state = "disabled";
    const disabledKeys = pool.keysOf(account).filter((k) => pool.state.disabledKeys.has(k.id));
    if (state === "serving" && disabledKeys.length > 0) state = `serving; key ${disabledKeys.map((k) => k.id).join(", ")} disabled (401)`;
    const unavailable = blockers.filter((b) => b.kind === "model-unavailable").length;
    if (unavailable > 0) state += `; ${models.filter((m) => pool.blocker(account, m, now)?.kind === "model-unavailable").join(", ")} not in plan`;
    return [account, ...cells, String(servedBy.get(account) ?? 0), state];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const elapsed = formatWait(now - progress.startedAt);
  return [
    line(head),
    ...rows.map(line),
    `answered ${progress.done}/${progress.total}, failed ${progress.failed}, waiting for a slot ${scheduler.waiting()}, elapsed ${elapsed}`,
  ].join("\n");
}
