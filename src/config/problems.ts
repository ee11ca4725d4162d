import { ConfigError } from "../errors.js";
import { formatPosition, type TextPosition } from "./json-text.js";

/** One problem in a configuration source: what is wrong, and where when it has a place. */
export interface ConfigProblem {
  /** Dotted path of the field (`keys.1.apiKey`), if any. */
  field: string | undefined;
  position: TextPosition | undefined;
  message: string;
}

/** Every problem of one file (or variable) at once. A ConfigError, so existing handling applies. */
export class ConfigProblemsError extends ConfigError {
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    const only = problems.length === 1 ? problems[0] : undefined;
    super(
      source,
      only?.field,
      only
        ? withPosition(only.message, only.position)
        : `${problems.length} problems: ${problems.map(describeProblem).join("; ")}`,
    );
    this.problems = problems;
  }
}

/** "(keys.1.apiKey) must not be empty, at line 4, column 7". */
export function describeProblem(problem: ConfigProblem): string {
  return `${problem.field ? `(${problem.field}) ` : ""}${withPosition(problem.message, problem.position)}`;
}

function withPosition(message: string, position: TextPosition | undefined): string {
  return position ? `${message}, at ${formatPosition(position)}` : message;
}

/** The problems an error carries: its list, or itself as one. */
export function problemsOf(error: unknown): ConfigProblem[] {
  if (error instanceof ConfigProblemsError) return [...error.problems];
  const message = error instanceof Error ? error.message : String(error);
  return [{ field: undefined, position: undefined, message }];
}
