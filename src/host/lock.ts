// Locks that only root can take and that the kernel releases when the holder dies, even by SIGKILL: flock(2)
// on a file in the root-owned state_dir. Node has no flock(), so util-linux `flock FD` takes it on the open
// file description node hands it as fd 3; flock locks belong to that description, so the lock stays held by
// node's own fd after flock(1) exits, and goes when node closes it or dies. One process (~3-5 ms) per lock.
// (An abstract unix socket, used before, needs no process but any local user can bind its name and so block
// every VM start.)
import { spawnSync } from "node:child_process";
import { closeSync, constants as C, fstatSync, openSync } from "node:fs";
import { errnoWords } from "../errno.js";
import { CommandError } from "../errors.js";
import { ensureDir } from "./dirs.js";

// flock's exit status when the wait timed out (-E), told apart from its other failures.
const TIMED_OUT = 75;

/** Path of the lock file NAME ("NET" for a network, "" for the host-wide one) in STATE. */
export function lockPath(stateDir: string, name: string): string {
  return `${stateDir}/.lock${name ? `.${name}` : ""}`;
}

/** Run FN holding the lock file PATH (waits up to TIMEOUT ms for another kvmnet process holding it). */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  // O_NOFOLLOW: the directory is root's (checked), but never lock through a symlink all the same.
  const fd = openSync(path, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw new CommandError(`open ${path}`, null, "the lock file is not a regular file");
    const args = ["-x", "-w", String(timeoutMs / 1000), "-E", String(TIMED_OUT), "3"];
    const r = spawnSync("flock", args, { stdio: ["ignore", "ignore", "pipe", fd], encoding: "utf8" });
    if (r.error)
      throw new CommandError(
        `flock ${args.join(" ")}`,
        null,
        (r.error as NodeJS.ErrnoException).code === "ENOENT"
          ? "flock: not found (is util-linux installed?)"
          : `flock: ${errnoWords(r.error)}`,
      );
    if (r.status === TIMED_OUT)
      throw new CommandError(`lock ${path}`, null, `still held by another kvmnet process after ${timeoutMs / 1000} s`);
    if (r.status !== 0) throw new CommandError(`flock ${args.join(" ")} (on ${path})`, r.status, r.stderr);
    return await fn();
  } finally {
    closeSync(fd);
  }
}

/** Run FN holding network NET's lock in STATEDIR; with HOSTWIDE (a firewall backend whose chains all networks
 *  share, see FirewallBackend.sharedChains) also the host-wide lock, always taken second so that two holders
 *  never wait on each other. */
export async function withNetworkLock<T>(
  stateDir: string,
  net: string,
  hostWide: boolean,
  fn: () => T | Promise<T>,
): Promise<T> {
  ensureDir(stateDir);
  return withFileLock(lockPath(stateDir, net), () => (hostWide ? withFileLock(lockPath(stateDir, ""), fn) : fn()));
}
