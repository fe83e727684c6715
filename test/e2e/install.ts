// The programs under test, as users get them: `npm pack` of this checkout, then `npm i -g --prefix` of the
// tarball. Installed once per tarball content (npm pack is reproducible), shared by the e2e files of a run,
// which take turns through a lock file; an older install of this checkout is removed when a new tarball arrives.
// Each checkout has a directory of its own: a run of another checkout on the same machine (a CI clone beside a
// working tree) must not remove the install this run's QEMUs are using.
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { ROOT } from "../helpers/netns.js";

/** Where this checkout's installs are kept (one directory per tarball hash). */
export const INSTALL_CACHE = join(
  process.env.TMPDIR ?? tmpdir(),
  "kvmnet-e2e-install",
  createHash("sha256").update(ROOT).digest("hex").slice(0, 12),
);

/** An installed kvmnet: PREFIX/bin holds the programs. */
export interface Installed {
  prefix: string;
  tarball: string;
  bin(name: string): string;
}

/** Pack and install (or reuse the install of an identical tarball); needs dist/ built (the global setup does). */
export async function installPacked(): Promise<Installed> {
  mkdirSync(INSTALL_CACHE, { recursive: true });
  const release = await lock(join(INSTALL_CACHE, ".lock"));
  try {
    const work = mkdtempSync(join(INSTALL_CACHE, "pack-"));
    // --ignore-scripts: prepack would rebuild dist/ while other test files run its programs.
    const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: ROOT,
    });
    const name = (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename;
    const hash = createHash("sha256")
      .update(readFileSync(join(work, name)))
      .digest("hex")
      .slice(0, 16);
    const dir = join(INSTALL_CACHE, hash);
    const prefix = join(dir, "prefix");
    const tarball = join(dir, name);
    if (!existsSync(join(dir, "ok"))) {
      for (const old of readdirSync(INSTALL_CACHE))
        if (/^[0-9a-f]{16}$/.test(old)) rmSync(join(INSTALL_CACHE, old), { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(tarball, readFileSync(join(work, name)));
      await execa(
        "npm",
        [
          "install",
          "--global",
          "--prefix",
          prefix,
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          tarball,
        ],
        { cwd: dir },
      );
      writeFileSync(join(dir, "ok"), new Date().toISOString() + "\n");
    }
    rmSync(work, { recursive: true, force: true });
    return { prefix, tarball, bin: (n) => join(prefix, "bin", n) };
  } finally {
    release();
  }
}

// A lock file made with O_EXCL; one older than 5 minutes belongs to a run that died.
async function lock(path: string): Promise<() => void> {
  for (;;) {
    try {
      closeSync(openSync(path, "wx"));
      return () => unlinkSync(path);
    } catch {
      try {
        if (Date.now() - statSync(path).mtimeMs > 300_000) unlinkSync(path);
      } catch {
        /* gone meanwhile */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
