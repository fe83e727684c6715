// The programs' V8 code cache (scripts/code-cache.mjs, dist/NAME.cjs.cache): the built hook compiles with it on
// this node, and so does the single executable; without it, or with one from another build, or older than the
// program file, it does not use it and still runs the same.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/netns.js";
import { ensureBinary } from "../helpers/release.js";

const dir = mkdtempSync(join(tmpdir(), "kvmnet-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A preload that reports whether the program's vm.Script got cached data and whether V8 took it.
const preload = join(dir, "report.cjs");
writeFileSync(
  preload,
  `const vm = require("node:vm");
const Script = vm.Script;
vm.Script = class extends Script {
  constructor(source, options) {
    super(source, options);
    const r = options && options.cachedData ? (this.cachedDataRejected ? "rejected" : "accepted") : "none";
    process.on("exit", () => process.stderr.write("cache: " + r + "\\n"));
  }
};
`,
);

/** Runs PROGRAM --help under the preload: its usage text and what became of the code cache. */
function help(program: string, sea = false): { out: string; cache: string } {
  const [cmd, args, env] = sea
    ? [program, ["--help"], { NODE_OPTIONS: `-r ${preload}` }] // a single executable takes no node arguments
    : ["node", ["-r", preload, program, "--help"], {}];
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, cache: /cache: (\w+)/.exec(r.stderr)?.[1] ?? "no vm.Script" };
}

const built = join(ROOT, "dist/qemu-natup.cjs");
const usage = () => help(built).out;

describe("code cache of the built programs", () => {
  it("the built hook and the admin CLI compile with their cache on this node", () => {
    expect(help(built)).toEqual({ out: expect.stringContaining("usage: qemu-natup TAP"), cache: "accepted" });
    expect(help(join(ROOT, "dist/kvmnet.cjs")).cache).toBe("accepted");
  });

  it("the single executable compiles its bundle with the cache it carries", async () => {
    const link = join(dir, "qemu-natup");
    symlinkSync(await ensureBinary(), link);
    expect(help(link, true)).toEqual({ out: usage(), cache: "accepted" });
  }, 300_000);

  it("a copy with its cache, times kept, uses it (control for the cases below)", () => {
    const copy = join(dir, "kept.cjs");
    copyFileSync(built, copy);
    copyFileSync(`${built}.cache`, `${copy}.cache`);
    expect(help(copy)).toEqual({ out: usage(), cache: "accepted" });
  });

  it("a copy without a cache (kvmnet install --copy) runs the same, compiling as usual", () => {
    const copy = join(dir, "alone.cjs");
    copyFileSync(built, copy);
    expect(help(copy)).toEqual({ out: usage(), cache: "none" });
  });

  it("a cache older than the program (the program edited since) is not used", () => {
    const copy = join(dir, "edited.cjs");
    copyFileSync(`${built}.cache`, `${copy}.cache`);
    copyFileSync(built, copy);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(`${copy}.cache`, hourAgo, hourAgo);
    expect(help(copy)).toEqual({ out: usage(), cache: "none" });
  });

  it("a cache made for another build (its ID differs) is not used", () => {
    const copy = join(dir, "other.cjs");
    copyFileSync(built, copy);
    const cache = readFileSync(`${built}.cache`);
    cache.write("0".repeat(32), 0, "latin1");
    writeFileSync(`${copy}.cache`, cache);
    expect(help(copy)).toEqual({ out: usage(), cache: "none" });
  });
});
