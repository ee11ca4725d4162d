/** One finding of a command, with the fix when it is a problem. */
export type Level = "ok" | "info" | "warn" | "fail";

export interface Check {
  id: string;
  level: Level;
  message: string;
  fix?: string;
}

const TAG: Record<Level, string> = { ok: "ok  ", info: "info", warn: "warn", fail: "FAIL" };

/** "  ok    message" with the fix indented below. */
export function renderCheck(check: Check): string {
  const lines = [`  ${TAG[check.level]}  ${check.message}`];
  if (check.fix) lines.push(`        fix: ${check.fix}`);
  return lines.join("\n");
}

export function countLevels(checks: ReadonlyArray<{ level: Level }>): { problems: number; warnings: number } {
  return {
    problems: checks.filter((c) => c.level === "fail").length,
    warnings: checks.filter((c) => c.level === "warn").length,
  };
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
