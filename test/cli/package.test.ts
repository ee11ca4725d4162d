import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ROOT } from "./helpers.js";

const run = promisify(execFile);
beforeAll(ensureBuilt, 180_000);

interface PackResult {
  files: Array<{ path: string; mode: number }>;
}

describe("the npm package", () => {
  it("ships dist/ and schema/ (and nothing of src, test or the simulator), with every entry package.json names", async () => {
    // --ignore-scripts: `npm test` has built already; `npm pack` and `npm publish` run prepack (the build) themselves.
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: ROOT,
      maxBuffer: 10_000_000,
    });
    const [pack] = JSON.parse(stdout) as PackResult[];
    const paths = (pack?.files ?? []).map((f) => f.path).sort();
    expect(paths.filter((p) => !/^(dist\/[^/]+|schema\/[^/]+|package\.json|README\.md|LICENSE)$/.test(p))).toEqual([]);
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      main: string;
      types: string;
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
    };
    const named = [
      pkg.main,
      pkg.types,
      ...Object.values(pkg.bin),
      ...Object.values(pkg.exports).flatMap((e) => (typeof e === "string" ? [e] : Object.values(e))),
    ];
    for (const entry of named) expect(paths, entry).toContain(entry.replace(/^\.\//, ""));
    expect(paths).toContain("schema/zai-keys.schema.json");
    expect(pack?.files.find((f) => f.path === "dist/cli.js")?.mode ?? 0, "dist/cli.js is executable").toSatisfy(
      (m: number) => (m & 0o111) !== 0,
    );
  });

  it("builds itself on pack and says where it lives", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as Record<string, unknown> & {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.prepack).toBe("npm run build");
    expect(pkg.repository).toMatchObject({
      url: expect.stringContaining("github.com/oc-zai-multi-account/oc-zai-multi-account"),
    });
    expect(pkg.bugs).toMatchObject({ url: expect.stringMatching(/\/issues$/) });
    expect(pkg.homepage).toMatch(/^https:\/\/github\.com\//);
  });
});
