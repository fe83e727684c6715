// Whether a daemon runs in this network namespace, read from /proc at no process cost (for daemons that keep no pid
// file kvmnet could trust).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** True when a process whose comm is COMM runs in this process' network namespace. */
export function daemonRunning(comm: string): boolean {
  let own: string;
  try {
    own = readlinkSync("/proc/self/ns/net");
  } catch {
    return false;
  }
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8") !== `${comm}\n`) continue;
      if (readlinkSync(`/proc/${pid}/ns/net`) === own) return true;
    } catch {
      /* gone meanwhile */
    }
  }
  return false;
}
