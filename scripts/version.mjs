// package.json's version for esbuild's `define`: every bundle carries it as KVMNET_VERSION (src/version.ts), so
// `kvmnet --version` reads no file.
// KVMNET_BUILD is a hash of the version and of every file under src/ and hooks/: the programs of one build carry
// the same, so a hook knows whether a running `kvmnet watch` is of its own build (src/core/served.ts).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

let define = null;

/** esbuild's `define` that bakes package.json's version and the build's hash into a bundle (hashed once a run). */
export function versionDefine() {
  return (define ??= hashedDefine());
}

function hashedDefine() {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const hash = createHash("sha256").update(pkg.version);
  for (const dir of ["src", "hooks"])
    for (const f of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .sort())
      hash.update(`\0${f.slice(ROOT.length)}\0`).update(readFileSync(f));
  return { KVMNET_VERSION: JSON.stringify(pkg.version), KVMNET_BUILD: JSON.stringify(hash.digest("hex").slice(0, 16)) };
}

/** The esbuild options every program's bundle shares: one CommonJS file for node 20, version and build baked in. */
export function bundleOptions() {
  return {
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    legalComments: "none",
    loader: { ".conf": "text" }, // etc-templates/kvmnet.conf is embedded (kvmnet install writes it)
    define: versionDefine(),
    logLevel: "warning",
  };
}
