// Who listens on a port, from `ss -H -4 -lnp` (iproute2, already required). /proc/net/udp would do without
// a process but does not show SO_BINDTODEVICE, and a dnsmasq bound to another bridge (libvirt's, another
// kvmnet network's) shares 0.0.0.0:67 harmlessly only because it is bound to its own device.
import type { Exec } from "../../host/exec.js";

/** A listening IPv4 socket. */
export interface BoundSocket {
  proto: "udp" | "tcp";
  address: string;
  /** The device it is bound to (SO_BINDTODEVICE), or null for any. */
  device: string | null;
  port: number;
  /** Owning processes (empty when ss could not tell). */
  owners: { comm: string; pid: number }[];
}

/** Parse `ss -H -4 -l -n -p` output for PROTO. */
export function parseSs(proto: "udp" | "tcp", text: string): BoundSocket[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5)
    .flatMap((f) => {
      const m = /^(\*|[\d.]+)(?:%(\S+))?:(\d+)$/.exec(f[3]!);
      if (!m) return [];
      const users = f.slice(5).join(" ");
      const owners = [...users.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+)/g)].map((u) => ({
        comm: u[1]!,
        pid: Number(u[2]),
      }));
      return [{ proto, address: m[1] === "*" ? "0.0.0.0" : m[1]!, device: m[2] ?? null, port: Number(m[3]), owners }];
    });
}

/** The listening IPv4 UDP and TCP sockets of this network namespace; null when ss cannot run. */
export function listSockets(exec: Exec): BoundSocket[] | null {
  const out: BoundSocket[] = [];
  for (const proto of ["udp", "tcp"] as const) {
    const r = exec.tryRun("ss", ["-H", "-4", proto === "udp" ? "-u" : "-t", "-l", "-n", "-p"]);
    if (!r.ok) return null;
    out.push(...parseSs(proto, r.stdout));
  }
  return out;
}
