// Program files that start with V8's code cache. dist/NAME.cjs is a small loader followed by the bundle in a
// comment; dist/NAME.cjs.cache is V8's compiled code for all of that bundle, made at build time by the same
// node. A hook then skips compiling each function the first time it runs: 5-9 ms of a warm qemu-natup's
// ~50-60 (in-process and wall-clock medians of 30-80 interleaved starts). Node's own compile cache is Node 22;
// Node 20's vm.Script takes cachedData. Reading the bundle from a comment costs less than from a string
// literal, and the cache as a file beside it less than embedded as base64 (~3 ms). A node whose V8 or flags differ
// rejects the cache (V8 checks its version, the flags and the source's length) and compiles as usual: slower,
// never wrong. The cache file starts with an ID of the bundle it was made for (a hash of the bundle and the node),
// which the loader carries too: a cache from another build is not used, nor one older than its program file.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WRAP = ["(function (exports, require, module, __filename, __dirname) {", "\n})"];
const MARK = "/*BUNDLE\n";

// Run by a clean `node` (no flags, as a hook's node runs): compile SOURCE with every function compiled at once
// (--no-lazy), then set the flag back before taking the cache, since V8 rejects a cache made under other flags.
const MAKE_CACHE = `
const v8 = require("node:v8"), vm = require("node:vm"), fs = require("node:fs");
const [src, out] = process.argv.slice(1);
v8.setFlagsFromString("--no-lazy");
const script = new vm.Script(fs.readFileSync(src, "utf8"));
v8.setFlagsFromString("--lazy");
fs.writeFileSync(out, script.createCachedData());
`;

// Run the same way: whether V8 takes the cache for SOURCE (prints "accepted" or "rejected").
const CHECK_CACHE = `
const vm = require("node:vm"), fs = require("node:fs");
const [src, cache] = process.argv.slice(1);
const s = new vm.Script(fs.readFileSync(src, "utf8"), { cachedData: fs.readFileSync(cache) });
process.stdout.write(s.cachedDataRejected ? "rejected" : "accepted");
`;

/** V8's cache for SOURCE made by NODE with every function compiled, checked to be accepted by that node. */
function makeCache(name, source, node) {
  const tmp = mkdtempSync(join(tmpdir(), "kvmnet-cache-"));
  try {
    const src = join(tmp, "source.js");
    const cache = join(tmp, "cache.bin");
    writeFileSync(src, source);
    const clean = { PATH: process.env.PATH ?? "/usr/bin:/bin" }; // no NODE_OPTIONS: a hook's node has none
    execFileSync(node, ["-e", MAKE_CACHE, src, cache], { env: clean });
    const verdict = execFileSync(node, ["-e", CHECK_CACHE, src, cache], { env: clean, encoding: "utf8" });
    if (verdict !== "accepted") throw new Error(`${name}: V8 rejects the code cache made for it (${verdict})`);
    return readFileSync(cache);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Program NAME's file for BUNDLE (esbuild's CommonJS output), and the code cache NODE makes for it. FIRST: a
 *  first stage run before the bundle is loaded (see firstStage), or null. */
export function withCodeCache(name, bundle, first = null, node = process.execPath) {
  const source = WRAP[0] + bundle.replace(/^#!.*\n/, "") + WRAP[1];
  const id = createHash("sha256").update(`${process.version}\n${source}`).digest("hex").slice(0, 32);
  const head = loader(name, id, first);
  const program = `${head}${MARK}${source.replace(/@/g, "@0").replace(/\*\//g, "@1")}*/\n`;
  const lineOffset = head.split("\n").length; // the bundle's first line in the file, counted from 0
  return {
    program: program.replace("LINE_OFFSET", String(lineOffset)),
    cache: Buffer.concat([Buffer.from(id, "latin1"), makeCache(name, source, node)]),
  };
}

/** For a single executable (scripts/binaries.mjs) of BUNDLE, the file at path BUNDLE: its main script and
 *  assets, written to WORK. The bundle and its cache are SEA assets (read without a copy, and the cache is
 *  in the executable, so always the one made for it); the main script compiles the one with the other.
 *  Node's useCodeCache covers the main script only, and only the functions compiled before a run starts:
 *  measured, a warm qemu-natup 46.7 -> 42.2 ms (median of 40 interleaved runs). */
export function seaWithCodeCache(bundle, work, first = null, node = process.execPath) {
  const source = WRAP[0] + readFileSync(bundle, "utf8").replace(/^#!.*\n/, "") + WRAP[1];
  const assets = { "bundle.js": join(work, "bundle.js"), "bundle.cache": join(work, "bundle.cache") };
  writeFileSync(assets["bundle.js"], source);
  writeFileSync(assets["bundle.cache"], makeCache("the single executable", source, node));
  const main = join(work, "sea-main.cjs");
  writeFileSync(
    main,
    `// kvmnet's single executable: compiles its bundle with V8's code cache, both carried as assets.
function main() {
  const sea = require("node:sea");
  const { Script } = require("node:vm");
  const cachedData = Buffer.from(sea.getRawAsset("bundle.cache"));
  const script = new Script(sea.getAsset("bundle.js", "utf8"), { filename: "kvmnet", cachedData });
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
${first ? firstStageCall(first) : "main();"}
`,
  );
  return { main, assets };
}

/** esbuild's CommonJS bundle of src/host/watch-client.ts: the hooks' first stage (see firstStageCall). */
export async function firstStage() {
  const { build } = await import("esbuild");
  const { bundleOptions } = await import("./version.mjs");
  const { outputFiles } = await build({
    ...bundleOptions(),
    entryPoints: [join(import.meta.dirname, "..", "src/host/watch-client.ts")],
    minify: true,
    write: false,
  });
  return outputFiles[0].text;
}

// A first stage, before the bundle is loaded: FIRST is esbuild's CommonJS bundle of src/host/watch-client.ts,
// whose askWatch hands the run to a \`kvmnet watch\` that serves it (then exit at once with its code: its messages
// are written, and nothing else is open), or says no (null): then main() loads the bundle and runs the program.
function firstStageCall(first) {
  return `const askWatch = ((module) => {
${first}
return module.exports.askWatch;
})({ exports: {} });
askWatch(process.argv, process.env).then((code) => (code === null ? main() : process.exit(code)));`;
}

function loader(name, id, first) {
  return `#!/usr/bin/env node
// ${name} (kvmnet). Its code, bundled from kvmnet's src/ by scripts/build.mjs, is the comment below this loader
// ("@" written "@0" and "*/" written "@1" in it). The loader compiles it with V8's code cache in ${name}.cjs.cache
// beside this file when there is one (scripts/code-cache.mjs says why), else as any script.${first ? "\n// A kvmnet watch that serves hooks is asked first (src/host/watch-client.ts)." : ""}
"use strict";
${first ? firstStageCall(first) + "\n" : ""}function main() {
const fs = require("node:fs");
const text = fs.readFileSync(__filename, "utf8");
const bundle = text.slice(text.indexOf("\\n/" + "*BUNDLE\\n") + 10, text.lastIndexOf("*/"));
const source = bundle.replace(/@[01]/g, (e) => (e === "@0" ? "@" : "*/"));
let cachedData;
try {
  // Made for this bundle by the same build (its ID), and not older than this file (then it was edited).
  const cache = __filename + ".cache";
  const data = fs.readFileSync(cache);
  const fresh = fs.statSync(cache).mtimeMs >= fs.statSync(__filename).mtimeMs;
  if (fresh && data.toString("latin1", 0, 32) === "${id}") cachedData = data.subarray(32);
} catch {
  // no cache: compile as usual
}
const { Script } = require("node:vm");
const script = new Script(source, { filename: __filename, lineOffset: LINE_OFFSET, cachedData });
script.runInThisContext()(exports, require, module, __filename, __dirname);
}
${first ? "" : "main();\n"}`;
}
