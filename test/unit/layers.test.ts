import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "..", "src");
const MAX_LINES = 300;
/** Biome formats at 120 columns but does not break strings or comments: this holds those too. */
const MAX_COLUMNS = 120;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The folder of src/ a file is in ("" for src/ itself). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length > 1 ? (parts[0] ?? "") : "";
}

/** Folder -> the folders its files import from (relative imports that leave the folder). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    if (from === "") continue;
    for (const match of readFileSync(file, "utf8").matchAll(/from "\.\.\/([a-z-]+)\//g)) {
      const to = match[1] ?? "";
      if (to !== from) graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
  }
  return graph;
}

function reaches(graph: Map<string, Set<string>>, start: string, goal: string): boolean {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const next = stack.pop() ?? "";
    if (next === goal) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return false;
}

describe("the layers of src/ (docs/design.md, The pieces)", () => {
  it("has no import cycle between folders", () => {
    const graph = folderGraph();
    const cycles = [...graph].flatMap(([from, tos]) =>
      [...tos].filter((to) => reaches(graph, to, from)).map((to) => `${from} -> ${to}`),
    );
    expect(cycles).toEqual([]);
  });

  it("keeps the core below the hosts: nothing imports hosts/ or cli/ but the entries", () => {
    const graph = folderGraph();
    const offenders = [...graph]
      .filter(([from, tos]) => from !== "cli" && (tos.has("hosts") || tos.has("cli")))
      .map(([from]) => from);
    expect(offenders).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = sourceFiles(SRC)
      .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it(`has no source line over ${MAX_COLUMNS} characters`, () => {
    const wide = sourceFiles(SRC).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, i) => (line.length > MAX_COLUMNS ? [`${relative(SRC, file)}:${i + 1}`] : [])),
    );
    expect(wide).toEqual([]);
  });
});
