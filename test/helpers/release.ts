// The release artifacts for tests: release/kvmnet (the single executable) and the .deb, built once and
// reused while nothing they are made from has changed. Building takes seconds (the deb about half a minute).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "./netns.js";

/** Path of the single executable. */
export const BINARY = join(ROOT, "release/kvmnet");

/** Path of the Debian package. */
export function debPath(): string {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return join(ROOT, `release/kvmnet_${version}_amd64.deb`);
}

/** Build release/kvmnet unless it is newer than every source it is made from; returns its path. */
export async function ensureBinary(): Promise<string> {
  await rebuildIfStale(
    BINARY,
    [
      "src",
      "hooks",
      "etc-templates",
      "scripts/binaries.mjs",
      "scripts/code-cache.mjs",
      "scripts/version.mjs",
      "package.json",
      "package-lock.json",
    ],
    ["scripts/binaries.mjs"],
  );
  return BINARY;
}

/** Build the .deb (and the binary first) unless it is up to date; returns its path. */
export async function ensureDeb(): Promise<string> {
  await ensureBinary();
  const deb = debPath();
  await rebuildIfStale(
    deb,
    ["release/kvmnet", "scripts/deb", "man", "etc-templates", "package.json"],
    ["scripts/deb/build.mjs"],
  );
  return deb;
}

// One build at a time across test files (vitest runs files in parallel workers); the others wait, then
// find the output fresh.
async function rebuildIfStale(out: string, inputs: string[], script: string[]): Promise<void> {
  mkdirSync(join(ROOT, ".cache"), { recursive: true });
  const lock = join(ROOT, ".cache", "release-build.lock");
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch {
      // A lock older than 5 minutes belongs to a test run that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) unlinkSync(lock);
      } catch {
        /* gone meanwhile */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    const newest = Math.max(...inputs.map((p) => newestMtime(join(ROOT, p))));
    if (existsSync(out) && statSync(out).mtimeMs > newest) return;
    await execa("node", script, { cwd: ROOT, stdout: "ignore" });
  } finally {
    unlinkSync(lock);
  }
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}
