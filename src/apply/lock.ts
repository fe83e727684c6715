// A per-network lock that the kernel releases when its holder dies, even by SIGKILL: an abstract unix
// socket. Node has no flock(); a lock file would outlive a killed hook. Abstract sockets belong to the
// network namespace, which is where the network being locked lives.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import { CommandError } from "../errors.js";

/** The lock name of network NET with state directory STATE. */
export function lockName(stateDir: string, net: string): string {
  return `kvmnet/${createHash("sha256").update(stateDir).digest("hex").slice(0, 16)}/${net}`;
}

function tryListen(name: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? resolve(null) : reject(e)));
    server.listen({ path: `\0${name}` }, () => resolve(server));
  });
}

/** Run FN while holding lock NAME; waits up to TIMEOUT ms for another holder to finish. */
export async function withLock<T>(name: string, fn: () => T, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let server: Server | null;
  for (let delay = 2; !(server = await tryListen(name)); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline) throw new CommandError(`lock @${name}`, null, `still held by another kvmnet process after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
  }
  try {
    return fn();
  } finally {
    server.close();
  }
}
