// `npm run binaries`: build release/kvmnet, one Node single executable application answering to every program
// name (qemu-natup, ..., kvmnet, each also NAME@NET) by the name it is run as. Built offline from the node that
// runs this script: bundle as CommonJS → `node --experimental-sea-config` → copy of node + postject.
// (`pkg` cannot be used: it downloads a Node base binary at build time, which fails offline.)
// Usage: node scripts/binaries.mjs [OUT]   (default release/kvmnet)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { firstStage, seaWithCodeCache } from "./code-cache.mjs";
import { bundleOptions } from "./version.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const out = resolve(ROOT, process.argv[2] ?? "release/kvmnet");
// The fuse string node checks for an injected blob (the same for every Node 20 release).
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

mkdirSync(join(ROOT, ".cache"), { recursive: true });
const work = mkdtempSync(join(ROOT, ".cache", "sea-")); // per run, so parallel builds (tests) do not collide
try {
  // hooks/kvmnet.ts is the multi-call entry: runMain dispatches on basename(argv[1]), which a single executable
  // sets to the name it was run as, and it carries the admin CLI. Everything is bundled: a single executable
  // can require node's builtins but no file.
  const main = join(work, "kvmnet.cjs");
  await build({ ...bundleOptions(), entryPoints: [join(ROOT, "hooks/kvmnet.ts")], outfile: main, minify: true });
  const blob = join(work, "kvmnet.blob");
  // useCodeCache: V8's compiled code for the bundle goes into the blob, saving the compile at every start
  // (measured here: 1.01-1.05x `node -e 0` with it, 1.09-1.14x without). A startup snapshot (useSnapshot)
  // measured no better, and Node warns that child_process, which every hook uses, is unverified in snapshots.
  writeFileSync(
    join(work, "sea-config.json"),
    // The main script loads the bundle with V8's code cache for all of it (scripts/code-cache.mjs).
    JSON.stringify({
      ...seaWithCodeCache(main, work, await firstStage()),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
    }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", join(work, "sea-config.json")], { stdio: "pipe" });

  const exe = join(work, "kvmnet");
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const { inject } = createRequire(import.meta.url)("postject");
  // postject prints a warning per ELF note it cannot name; they are harmless and would only hide real errors.
  const warn = console.warn;
  console.warn = () => {};
  try {
    await inject(exe, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: FUSE });
  } finally {
    console.warn = warn;
  }
  // Fail here rather than ship a binary that starts as plain node.
  const check = execFileSync(exe, ["--help"], { encoding: "utf8", env: {}, argv0: "qemu-natup" });
  if (!/qemu-natup/.test(check)) throw new Error(`the built binary does not answer as qemu-natup: ${check}`);
  mkdirSync(resolve(out, ".."), { recursive: true });
  renameSync(exe, out); // atomic: a concurrent reader sees the old binary or the new one, never half of one
  console.log(`built ${out} (${(statSync(out).size / 1e6).toFixed(0)} MB, node ${process.version})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
