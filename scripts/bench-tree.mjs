// For the benchmarks: another commit's programs, built once into .cache/tree-COMMIT/dist from `git archive`
// (never committed; node_modules is this tree's), and its single executable (.cache/tree-COMMIT/sea/kvmnet), to
// measure side by side with this tree in one run.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** The dist/ directory of REV (any git revision), built on first use. */
export function distOf(rev) {
  return join(treeOf(rev), "dist");
}

/** REV's single executable (its own scripts/binaries.mjs), built on first use; null when REV has none. */
export function seaOf(rev) {
  const tree = treeOf(rev);
  const exe = join(tree, "sea", "kvmnet");
  if (existsSync(exe)) return exe;
  if (!existsSync(join(tree, "scripts/binaries.mjs"))) return null;
  execFileSync(process.execPath, ["scripts/binaries.mjs", exe], { cwd: tree, stdio: "ignore" });
  return exe;
}

// REV's source tree with dist/ built, made on first use.
function treeOf(rev) {
  const commit = execFileSync("git", ["-C", root, "rev-parse", "--verify", `${rev}^{commit}`], {
    encoding: "utf8",
  }).trim();
  const dir = join(root, ".cache", `tree-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, ".built"))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git -C "${root}" archive ${commit} | tar -x -C "${dir}"`]);
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: dir, stdio: "ignore" });
  writeFileSync(join(dir, ".built"), commit);
  return dir;
}
