/** Markdown tables (pasteable into BENCHMARKS.md) and the list of targets with PASS/FAIL. */

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(headers), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

export interface Target {
  scenario: string;
  target: string;
  measured: string;
  pass: boolean;
}

export class Targets {
  readonly list: Target[] = [];

  check(scenario: string, target: string, measured: string, pass: boolean): void {
    this.list.push({ scenario, target, measured, pass });
  }

  render(): string {
    return table(
      ["scenario", "target", "measured", "result"],
      this.list.map((t) => [t.scenario, t.target, t.measured, t.pass ? "PASS" : "FAIL"]),
    );
  }
}
