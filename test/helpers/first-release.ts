// kvmnet's first release (0.1), built from its commit into .cache/ for the upgrade tests: once, then reused (a
// commit never changes). One build at a time across test files, as in release.ts; it is made in a temporary
// directory and renamed into place, so a build killed half-way leaves nothing that looks finished.
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "./netns.js";

/** The first release: the tree stop 7 landed (issue 2-6), the last commit before the hardening of issue 9. Its
 *  firewall is one `table ip kvmnet-NET` (or iptables chains jumped from the built-in chains) per network, and
 *  it writes no NET.dnsmasq.ifindex record. (Its successor f8e2c8b, just before the shared table, already does.) */
export const FIRST_RELEASE = "20e4a2000aecb04f7216e20fe7ebb504b74a17c9";

/** Build the first release unless it is in .cache/ already; returns its dist/ directory. */
export async function ensureFirstRelease(): Promise<string> {
  const cache = join(ROOT, ".cache");
  const dir = join(cache, `release-${FIRST_RELEASE.slice(0, 12)}`);
  const dist = join(dir, "dist");
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, "first-release.lock");
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
    if (existsSync(join(dist, "kvmnet.cjs"))) return dist;
    const tmp = mkdtempSync(join(cache, "release-build-"));
    try {
      // git archive needs the commit in this clone's history (a shallow clone fails here, saying so).
      await execa("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", ROOT, FIRST_RELEASE, tmp]);
      // Its dependencies are this tree's (the same package.json ranges): esbuild bundles ini and ipaddr.js.
      symlinkSync(join(ROOT, "node_modules"), join(tmp, "node_modules"));
      await execa("node", ["scripts/build.mjs"], { cwd: tmp });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return dist;
  } finally {
    unlinkSync(lock);
  }
}
