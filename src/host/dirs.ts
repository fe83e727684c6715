// Directories kvmnet keeps (state_dir, lease_dir): root's, mode 0755 whatever the umask, since dnsmasq reads
// its hostsfiles there after dropping root for nobody (a umask of 027 or 077 would hide them from it).
import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { untrustedReason } from "./trust.js";

/** Make DIR and its missing parents (root's, mode 0755); refuses a DIR root cannot trust. */
export function ensureDir(dir: string): void {
  const abs = resolve(dir);
  const parts = abs.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join("/")}`;
    try {
      mkdirSync(p, { mode: 0o755 });
      chmodSync(p, 0o755);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  const why = untrustedReason(abs);
  if (why) throw new UsageError(why);
  const st = lstatSync(abs);
  if (!st.isDirectory()) throw new UsageError(`${abs}: is not a directory`);
  // Made earlier under a strict umask (or by hand): dnsmasq, as nobody, must still get in and read.
  if ((st.mode & 0o055) !== 0o055) chmodSync(abs, (st.mode | 0o755) & 0o7755);
}
