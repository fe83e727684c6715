// Build: bundle every program in hooks/ into dist/NAME.cjs (CommonJS, one file each, no runtime imports
// beyond Node's own), so an npm `bin` or a single executable starts with the least to load.
import { build } from "esbuild";
import { chmodSync, readdirSync } from "node:fs";

const entries = readdirSync("hooks").filter((f) => f.endsWith(".ts"));
await Promise.all(
  entries.map(async (f) => {
    const out = `dist/${f.replace(/\.ts$/, ".cjs")}`;
    await build({
      entryPoints: [`hooks/${f}`],
      outfile: out,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      minify: false,
      legalComments: "none",
      loader: { ".conf": "text" }, // etc-templates/kvmnet.conf is embedded (kvmnet install writes it)
      logLevel: "warning",
    });
    chmodSync(out, 0o755);
  }),
);
console.log(`built ${entries.length} programs into dist/`);
