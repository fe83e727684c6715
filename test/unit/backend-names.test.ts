// No code outside src/firewall/ asks which firewall backend runs: it asks the backend's capabilities (and
// dependency-cruiser keeps src/firewall/nft/ and src/firewall/iptables/ out of reach, see .dependency-cruiser.cjs).
// Checked on the source text: a comparison with "nftables", or with "iptables" on a line about the firewall or
// its backend ("iptables" is also the name of a Step kind and of other software's tool, which may be compared).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const NAME = `["'\`](?:nftables|iptables)["'\`]`;
const COMPARES = new RegExp(`[!=]==?\\s*${NAME}|${NAME}\\s*[!=]==?|\\bcase\\s+${NAME}`);

const ABOUT_BACKEND = /["'`]nftables["'`]|\b(?:firewall|backend)\b/;

/** The lines of TEXT that compare something with a backend's name (comments left out). */
export function namesCompared(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.replace(/\/\/.*$/, ""))
    .filter((l) => !/^\s*\*/.test(l) && COMPARES.test(l) && ABOUT_BACKEND.test(l));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("the firewall backend's name", () => {
  it("is caught when compared, in any spelling (the check can fail)", () => {
    for (const bad of [
      'if (config.firewall === "iptables") x();',
      "const ours = 'nftables' !== fw;",
      'return state?.backend !== "nftables" || y;',
      '  case "nftables":',
      "if (ctx.config?.backend.name !== `iptables`) z();",
    ])
      expect(namesCompared(bad)).toEqual([bad]);
    // A Step kind or another program's tool is not the backend.
    expect(namesCompared('steps.some((s) => s.kind === "nft" || s.kind === "iptables")')).toEqual([]);
    expect(namesCompared('// with firewall === "iptables" ...\nconst caps = backend.caps;')).toEqual([]);
  });

  it("is compared nowhere outside src/firewall/ (hooks included)", () => {
    const files = [...tsFiles(join(ROOT, "src")), ...tsFiles(join(ROOT, "hooks"))].filter(
      (f) => !relative(ROOT, f).startsWith("src/firewall/"),
    );
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((f) =>
      namesCompared(readFileSync(f, "utf8")).map((l) => `${relative(ROOT, f)}: ${l.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
