// Which device a running dnsmasq serves, read from its DHCP socket: dnsmasq binds that socket to its one interface
// (SO_BINDTODEVICE), and `ss` shows the device (`0.0.0.0%NAME:67`, or `%ifN` once the device is gone;
// /proc/net/udp does not show it). Asked only of a dnsmasq kvmnet has no record of (kvmnet 0.1 kept none).
import { readFileSync } from "node:fs";
import type { Exec } from "../host/exec.js";

/** The device PID's DHCP socket (UDP 67) is bound to, from `ss -H -4 -u -l -n -p sport = :67` output TEXT: its name
 *  (`ifN` when it is gone), or null when PID holds no DHCP socket bound to one device. */
export function parseDhcpDevice(text: string, pid: number): string | null {
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !f.slice(5).join(" ").includes(`pid=${pid},`)) continue;
    const m = /%(\S+):67$/.exec(f[3]!);
    if (m) return m[1]!;
  }
  return null;
}

/** The ifindex of the device PID's DHCP socket is bound to; null when it holds none bound to one device, undefined
 *  when ss did not run. */
export function dhcpSocketIfindex(exec: Exec, pid: number): number | null | undefined {
  const r = exec.tryRun("ss", ["-H", "-4", "-u", "-l", "-n", "-p", "sport", "=", ":67"]);
  if (!r.ok) return undefined;
  const dev = parseDhcpDevice(r.stdout, pid);
  if (dev === null) return null;
  // A live device by its name; one that is gone, by the number ss printed for it.
  try {
    return Number(readFileSync(`/sys/class/net/${dev}/ifindex`, "utf8"));
  } catch {
    const gone = /^if(\d+)$/.exec(dev);
    return gone ? Number(gone[1]) : null;
  }
}
