// package.json's version for esbuild's `define`: every bundle carries it as KVMNET_VERSION (src/version.ts), so
// `kvmnet --version` reads no file.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** esbuild's `define` that bakes package.json's version into a bundle. */
export function versionDefine() {
  const pkg = JSON.parse(readFileSync(join(resolve(import.meta.dirname, ".."), "package.json"), "utf8"));
  return { KVMNET_VERSION: JSON.stringify(pkg.version) };
}
