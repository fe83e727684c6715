// Locks that only root can take, that the kernel frees when the holder dies (even by SIGKILL), and that need no
// process: the lock is a listening unix socket at a fixed name in the root-owned state_dir. Only root can make
// that name (the directory is root's and nobody else may write there, src/host/trust.ts), so no other user can
// hold or squat the lock; the socket is 0600, so no other user can connect to it either. The socket is made and
// listening under a name of its own first, then hard-linked to the lock's name: link(2) fails when the name
// exists, so exactly one process wins, and whatever is at the name is always a listening socket. A waiter
// connects to it and is woken by the kernel when the holder closes it or dies (its connection ends): no polling.
// A holder killed with SIGKILL leaves the name behind, but connecting to it is refused: that name is stale, and
// is removed under a flock(2) (util-linux `flock`, one process, only then) after a second look, so that two
// waiters never remove each other's fresh lock. (flock(1) on every run cost a process, ~2-3 ms of a warm hook; an
// abstract unix socket, used before that, needs no file but any local user can bind its name.)
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, constants as C, linkSync, lstatSync, openSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { CommandError } from "../errors.js";
import { ensureDir } from "./dirs.js";
import { whichTool } from "./which.js";

/** Path of the lock NAME ("NET" for a network, "" for the host-wide one) in STATE. */
export function lockPath(stateDir: string, name: string): string {
  return `${stateDir}/.lock${name ? `.${name}` : ""}.sock`;
}

/** Run FN holding the lock PATH (waits up to TIMEOUT ms for another kvmnet process holding it). */
export async function withFileLock<T>(path: string, fn: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> {
  const release = await acquire(path, Date.now() + timeoutMs, timeoutMs);
  try {
    return await fn();
  } finally {
    release();
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

// Take PATH: a socket listening under a name of its own, linked to PATH once PATH is free. Returns the release.
async function acquire(path: string, deadline: number, timeoutMs: number): Promise<() => void> {
  const own = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const { server, peers } = await listen(own);
  try {
    for (;;) {
      if (tryLink(own, path)) break;
      const seen = await waitFree(path, deadline);
      if (seen === "timeout")
        throw new CommandError(
          `lock ${path}`,
          null,
          `still held by another kvmnet process after ${timeoutMs / 1000} s`,
        );
      if (typeof seen === "number") await removeStale(path, seen, timeoutMs);
    }
  } catch (e) {
    close(server, peers);
    throw e;
  } finally {
    unlinkQuiet(own);
  }
  return () => {
    unlinkQuiet(path); // first: once the socket is closed, a waiter could find the name refused and remove it
    close(server, peers);
  };
}

// A socket listening at FILE (0600, root's). Waiters' connections are taken and kept, so that closing them on
// release wakes the waiters; nothing is ever read from them.
function listen(file: string): Promise<{ server: Server; peers: Set<Socket> }> {
  const peers = new Set<Socket>();
  const server = createServer((s) => {
    peers.add(s.on("error", () => {}).on("close", () => peers.delete(s)));
    s.unref();
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e) =>
      reject(new CommandError(`listen on ${file}`, null, (e as Error).message, { cause: e })),
    );
    server.listen({ path: file, backlog: 511 }, () => {
      server.unref(); // a holder that returns without releasing must still be able to exit
      chmodSync(file, 0o600);
      resolve({ server, peers });
    });
  });
}

function close(server: Server, peers: Set<Socket>): void {
  server.close();
  for (const s of peers) s.destroy();
}

// link(2) OWN to PATH: true when this process now holds the lock; false when PATH exists.
function tryLink(own: string, path: string): boolean {
  try {
    linkSync(own, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new CommandError(`link ${own} ${path}`, null, (e as Error).message, { cause: e });
  }
}

// Wait until the holder of PATH lets go ("free": try again), PATH's file is found stale (its inode number: a
// socket nobody listens on, or not a socket at all), or DEADLINE passes.
function waitFree(path: string, deadline: number): Promise<"free" | "timeout" | number> {
  const ino = inode(path);
  if (ino === null) return Promise.resolve("free");
  return new Promise((resolve) => {
    let settled = false;
    const c = connect({ path });
    const done = (v: "free" | "timeout" | number, after = 0) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.destroy();
      setTimeout(() => resolve(v), after);
    };
    const timer = setTimeout(() => done("timeout"), Math.max(0, deadline - Date.now()));
    // Refused: nobody listens (a holder killed by SIGKILL). A full backlog (EAGAIN): try again after a pause.
    c.on("error", (e: NodeJS.ErrnoException) => done(isRefusal(e) ? ino : "free", e.code === "EAGAIN" ? 10 : 0));
    c.on("close", () => done("free")); // the holder released the lock or died
  });
}

// Remove PATH if it is still the stale file INO: under a flock of PATH.break, looked at again (another waiter may
// have removed it and a new holder taken PATH meanwhile; a holder never leaves a refused socket at PATH, since it
// listens before it links and unlinks before it closes).
async function removeStale(path: string, ino: number, timeoutMs: number): Promise<void> {
  const fd = openSync(`${path}.break`, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW, 0o600);
  try {
    const args = ["-x", "-w", String(timeoutMs / 1000), "3"];
    const r = spawnSync(whichTool("flock") ?? "flock", args, { stdio: ["ignore", "ignore", "pipe", fd] });
    if (r.error || r.status !== 0)
      throw new CommandError(`flock ${args.join(" ")} (on ${path}.break)`, r.status, String(r.stderr ?? r.error));
    if (inode(path) === ino && (await refused(path))) unlinkQuiet(path);
  } finally {
    closeSync(fd);
  }
}

// Whether connecting to PATH is refused now.
function refused(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ path });
    c.on("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.on("error", (e: NodeJS.ErrnoException) => resolve(isRefusal(e)));
  });
}

// Connecting was refused: nobody listens on the socket, or the file is not a socket (an older kvmnet's lock file).
const isRefusal = (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED" || e.code === "ENOTSOCK";

function inode(path: string): number | null {
  return lstatSync(path, { throwIfNoEntry: false })?.ino ?? null;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
