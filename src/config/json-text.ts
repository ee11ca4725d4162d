import {
  findNodeAtLocation,
  getNodeValue,
  parseTree,
  printParseErrorCode,
  type Node,
  type ParseError,
} from "jsonc-parser";

/**
 * JSON and JSONC text with positions, through `jsonc-parser` (the parser OpenCode itself uses), so comments,
 * trailing commas and error positions behave as they do in OpenCode. Messages never quote the text: it may hold keys.
 */

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
}

export interface SyntaxProblem extends TextPosition {
  message: string;
}

export interface ParsedText {
  /** The value as far as it parsed (jsonc-parser recovers); trust it only when `problems` is empty. */
  value: unknown;
  tree: Node | undefined;
  problems: SyntaxProblem[];
}

/** `jsonc: true` allows comments and trailing commas (opencode.jsonc); false is strict JSON (the keys file). */
export function parseJsonText(text: string, options: { jsonc: boolean }): ParsedText {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, {
    disallowComments: !options.jsonc,
    allowTrailingComma: options.jsonc,
    allowEmptyContent: false,
  });
  const problems = errors.map((e) => ({ ...positionAt(text, e.offset), message: describeError(text, e) }));
  // A recovered parse can yield several errors for one mistake; the first at each position is the useful one.
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.line}:${p.column}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { value: tree === undefined ? undefined : getNodeValue(tree), tree, problems: unique };
}

export function positionAt(text: string, offset: number): TextPosition {
  const before = text.slice(0, Math.max(0, offset));
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/**
 * Where a JSON path points in the text: the value at `path`, or the property named `key` inside it, or the deepest
 * part of the path that exists. Undefined without a tree.
 */
export function locate(
  text: string,
  tree: Node | undefined,
  path: ReadonlyArray<string | number>,
  key?: string,
): TextPosition | undefined {
  if (!tree) return undefined;
  for (let depth = path.length; depth >= 0; depth--) {
    const node = findNodeAtLocation(tree, [...path.slice(0, depth)]);
    if (!node) continue;
    if (depth === path.length && key !== undefined && node.type === "object") {
      const property = node.children?.find((p) => p.children?.[0]?.value === key);
      if (property) return positionAt(text, property.offset);
    }
    // A property's value: point at its name, where a reader looks first.
    const owner = node.parent?.type === "property" ? node.parent : node;
    return positionAt(text, owner.offset);
  }
  return undefined;
}

export function formatPosition(p: TextPosition): string {
  return `line ${p.line}, column ${p.column}`;
}

function describeError(text: string, error: ParseError): string {
  const at = text[error.offset];
  if ((at === "]" || at === "}") && /,\s*$/.test(stripTrailingComments(text.slice(0, error.offset)))) {
    return "trailing comma (not allowed in JSON)";
  }
  const name = printParseErrorCode(error.error);
  if (name === "InvalidCommentToken") return "comment (not allowed in JSON)";
  // "CloseBraceExpected" → "close brace expected".
  return name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function stripTrailingComments(text: string): string {
  return text.replace(/\/\/[^\n]*$/g, "");
}
