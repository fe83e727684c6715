// The MAC address of the guest NIC behind a tap, from the command line of the QEMU that runs the hook: QEMU
// forks and executes script= itself, so the hook's parent is that QEMU (libvirt runs scripts itself: no QEMU
// parent there). The NIC is `-netdev tap,id=ID,ifname=TAP` with `-device DRIVER,netdev=ID,mac=MAC`, or
// `-nic tap,ifname=TAP,mac=MAC`.
import { readFileSync } from "node:fs";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

// QEMU's option syntax: comma-separated key=value (",," is a literal comma, never in the keys used here).
function options(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(",")) {
    const i = part.indexOf("=");
    out.set(i < 0 ? part : part.slice(0, i), i < 0 ? "" : part.slice(i + 1));
  }
  return out;
}

/** The MAC QEMU's ARGV gives the NIC on TAP, lower-case; null when the command line names none. */
export function macFromQemuArgs(argv: string[], tap: string): string | null {
  const values = (flag: string) => argv.flatMap((a, i) => (a === flag && argv[i + 1] ? [argv[i + 1]!] : []));
  for (const v of values("-nic")) {
    const o = options(v);
    if (o.get("ifname") === tap && MAC.test(o.get("mac") ?? "")) return o.get("mac")!.toLowerCase();
  }
  const ids = values("-netdev")
    .map(options)
    .filter((o) => o.has("tap") || o.has("bridge") || o.get("type") === "tap")
    .filter((o) => o.get("ifname") === tap)
    .map((o) => o.get("id"));
  for (const v of values("-device")) {
    const o = options(v);
    const mac = o.get("mac") ?? "";
    if (ids.includes(o.get("netdev")) && MAC.test(mac)) return mac.toLowerCase();
  }
  return null;
}

/** The guest MAC behind TAP, from the command line of process PPID (the hook's parent); null when unknown. */
export function guestMac(tap: string, ppid = process.ppid): string | null {
  try {
    const argv = readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0");
    return macFromQemuArgs(argv, tap);
  } catch {
    return null;
  }
}
