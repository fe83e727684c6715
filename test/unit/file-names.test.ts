// No two files under src/ share a base name: an import, a stack trace or a search for `dnsmasq.ts` then names one
// thing. A file's name says what it does in its layer (observe/dnsmasq-state.ts, decide/dnsmasq-steps.ts,
// render/dnsmasq-conf.ts, cli/doctor/dnsmasq-check.ts).
import { readdirSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";

// Every file under DIR, as paths relative to the repository.
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [relative(ROOT, join(dir, e.name))],
  );
}

// The firewall backends' folders hold the same parts, one per tool (render.ts, diff.ts, counters.ts ...): a name
// may be shared between them, never with a file anywhere else.
const PARALLEL = /^src\/firewall\/(nft|iptables)\//;

/** Base names shared by more than one file of FILES (the backends' parallel files counted once), each with its
 *  files (sorted). */
export function clashes(files: string[]): Record<string, string[]> {
  const by = new Map<string, string[]>();
  for (const f of files) by.set(basename(f), [...(by.get(basename(f)) ?? []), f]);
  const clash = (fs: string[]) => new Set(fs.map((f) => (PARALLEL.test(f) ? "backend" : f))).size > 1;
  return Object.fromEntries([...by].filter(([, fs]) => clash(fs)).map(([n, fs]) => [n, fs.sort()]));
}

describe("file names under src/", () => {
  it("finds a clash when there is one", () => {
    expect(clashes(["src/a/x.ts", "src/b/x.ts", "src/b/y.ts"])).toEqual({ "x.ts": ["src/a/x.ts", "src/b/x.ts"] });
  });

  it("lets the two backends' folders share the names of their parts, but not with anything else", () => {
    const nft = "src/firewall/nft/render.ts";
    const ipt = "src/firewall/iptables/render.ts";
    expect(clashes([nft, ipt])).toEqual({});
    expect(clashes([nft, ipt, "src/render.ts"])).toEqual({ "render.ts": [ipt, nft, "src/render.ts"] });
  });

  it("are unique across folders ", () => {
    expect(clashes(filesUnder(join(ROOT, "src")))).toEqual({});
  });
});
