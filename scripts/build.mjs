// Build: bundle every program in hooks/ into dist/NAME.cjs (CommonJS, one file each, no runtime imports
// beyond Node's own), so an npm `bin` or a single executable starts with the least to load. Each file stands
// alone (`kvmnet install --copy` copies it); dist/NAME.cjs.cache beside it is V8's code cache for it, which
// saves compiling at every start (scripts/code-cache.mjs).
// Measured and left out (issue 10): minifying (no gain beyond noise: V8 compiles lazily, so what costs is
// compiling the functions that run, which the code cache saves).
import { build } from "esbuild";
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { firstStage, withCodeCache } from "./code-cache.mjs";
import { bundleOptions } from "./version.mjs";

const entries = readdirSync("hooks").filter((f) => f.endsWith(".ts"));
// esbuild made dist/ itself when it wrote its output; with write: false (the code cache is made first) a fresh
// clone has none.
mkdirSync("dist", { recursive: true });
const first = await firstStage();
await Promise.all(
  entries.map(async (f) => {
    const out = `dist/${f.replace(/\.ts$/, ".cjs")}`;
    const { outputFiles } = await build({
      ...bundleOptions(),
      entryPoints: [`hooks/${f}`],
      outfile: out,
      minify: false,
      write: false,
    });
    const name = f.replace(/\.ts$/, "");
    // The hooks ask a kvmnet watch first (src/host/watch-client.ts); the CLI's programs do not.
    const hook = name.startsWith("qemu-");
    const { program, cache } = withCodeCache(name, outputFiles[0].text, hook ? first : null);
    writeFileSync(out, program, { mode: 0o755 });
    chmodSync(out, 0o755);
    writeFileSync(`${out}.cache`, cache, { mode: 0o644 }); // after the program: the loader takes no older cache
  }),
);
console.log(`built ${entries.length} programs into dist/`);
