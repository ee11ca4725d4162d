/** JSON with comments (`//`, `/* *\/`) and trailing commas, as opencode.jsonc allows. */

export class JsoncError extends Error {
  override readonly name = "JsoncError";
  readonly code = "ZAI_JSONC_INVALID";
}

/** Parses JSONC. Throws JsoncError naming line and column, never quoting the text. */
export function parseJsonc(text: string): unknown {
  const plain = stripJsonc(text);
  try {
    return JSON.parse(plain);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : "");
    const lineCol = /line (\d+) column (\d+)/.exec(error instanceof Error ? error.message : "");
    if (lineCol) throw new JsoncError(`invalid JSON at line ${lineCol[1]}, column ${lineCol[2]}`);
    if (!position) throw new JsoncError("invalid JSON");
    const before = plain.slice(0, Number(position[1]));
    throw new JsoncError(`invalid JSON at line ${before.split("\n").length}, column ${before.length - before.lastIndexOf("\n")}`);
  }
}

/** Blanks comments and trailing commas with spaces, keeping every offset (so error positions stay right). */
export function stripJsonc(text: string): string {
  const out = text.split("");
  let i = 0;
  let lastSignificant = -1;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      lastSignificant = i;
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") out[i++] = " ";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      for (; i < stop; i++) if (text[i] !== "\n") out[i] = " ";
    } else if (c === "}" || c === "]") {
      if (lastSignificant >= 0 && out[lastSignificant] === ",") out[lastSignificant] = " ";
      lastSignificant = i++;
    } else {
      if (c !== undefined && !/\s/.test(c)) lastSignificant = i;
      i++;
    }
  }
  return out.join("");
}
