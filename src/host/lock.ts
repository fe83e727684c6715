// Locks that only root can take, that the kernel frees when the holder dies (even by SIGKILL), and that need no
// process: the lock is a listening unix socket at a fixed name in the root-owned state_dir. Only root can make
// that name (the directory is root's and nobody else may write there, src/host/trust.ts), so no other user can
// hold or squat the lock; the socket is 0600, so no other user can connect to it either. The socket is made and
// listening under a name of its own first, then hard-linked to the lock's name: link(2) fails when the name
// exists, so exactly one process wins, and a live holder's socket is listening from the start. A waiter
// connects to it and is woken by the kernel when the holder closes it or dies (its connection ends): no polling.
// Waiters queue in a flock(2) so that one at a time waits on the socket (acquire says why). A holder killed with
// SIGKILL leaves the name behind, but connecting to it is refused: that name is stale, and the queue's head removes
// it after a second look. (flock(1) on every run cost a process, ~2-3 ms of a warm hook; an abstract unix socket,
// used before that, needs no file but any local user can bind its name.)
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, constants as C, linkSync, lstatSync, openSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { CommandError } from "../errors.js";
import { ensureDir } from "./dirs.js";
import { whichTool } from "./which.js";
import { tryConnect, unlinkQuiet } from "./unix-socket.js";

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
// A hook that finds PATH taken first queues behind the other waiters in a flock(2) of PATH.queue (util-linux
// `flock`, one process, as every hook spawned before): only the queue's head waits on the holder's socket, so a
// release wakes one node process, not every waiting one (40 VMs starting at once: 39 node processes woken at each
// of 40 releases, competing with the holder for the CPU, doubled each hook's time under the lock).
async function acquire(path: string, deadline: number, timeoutMs: number): Promise<() => void> {
  const own = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
  const { server, peers } = await listen(own);
  let queue: number | null = null;
  try {
    while (!tryLink(own, path)) {
      queue ??= joinQueue(path, deadline, timeoutMs);
      const seen = await waitFree(path, deadline);
      if (seen === "timeout") throw heldTooLong(path, timeoutMs);
      // Only the queue's head removes a stale name: never two at once.
      if (typeof seen === "number") await removeStale(path, seen);
    }
  } catch (e) {
    close(server, peers);
    throw e;
  } finally {
    unlinkQuiet(own);
    if (queue !== null) closeSync(queue); // the next waiter becomes the head
  }
  return () => {
    unlinkQuiet(path); // first: once the socket is closed, the head could find the name refused and remove it
    close(server, peers);
  };
}

const heldTooLong = (path: string, timeoutMs: number) =>
  new CommandError(`lock ${path}`, null, `still held by another kvmnet process after ${timeoutMs / 1000} s`);

// flock's exit status when the wait timed out (-E), told apart from its other failures.
const TIMED_OUT = 75;

// Wait for the head of PATH's queue: flock(2) on PATH.queue (root's, 0600), taken by util-linux `flock` on this
// process' own open file (the lock stays with that file until it is closed, or this process dies). Returns the fd.
function joinQueue(path: string, deadline: number, timeoutMs: number): number {
  const fd = openSync(`${path}.queue`, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW, 0o600);
  try {
    const wait = Math.max(0.1, (deadline - Date.now()) / 1000).toFixed(1);
    const args = ["-x", "-w", wait, "-E", String(TIMED_OUT), "3"];
    const r = spawnSync(whichTool("flock") ?? "flock", args, { stdio: ["ignore", "ignore", "pipe", fd] });
    if (r.status === TIMED_OUT) throw heldTooLong(path, timeoutMs);
    if (r.error || r.status !== 0)
      throw new CommandError(`flock ${args.join(" ")} (on ${path}.queue)`, r.status, String(r.stderr ?? r.error));
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
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

// Remove PATH if it is still the stale file INO, looked at again (a holder never leaves a refused socket at PATH,
// since it listens before it links and unlinks before it closes). Called by the queue's head only.
async function removeStale(path: string, ino: number): Promise<void> {
  if (inode(path) === ino && (await refused(path))) unlinkQuiet(path);
}

// Whether connecting to PATH is refused now.
async function refused(path: string): Promise<boolean> {
  const e = await tryConnect(path);
  return e !== null && isRefusal(e);
}

// Connecting was refused: nobody listens on the socket, or the file is not a socket (an older kvmnet's lock file).
const isRefusal = (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED" || e.code === "ENOTSOCK";

function inode(path: string): number | null {
  return lstatSync(path, { throwIfNoEntry: false })?.ino ?? null;
}
