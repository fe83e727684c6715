// DHCP in a guest namespace with busybox udhcpc, and the script that applies and prints the lease.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Netns } from "./netns.js";

/** A lease as udhcpc reported it. */
export interface Lease {
  ip: string;
  router: string;
  dns: string;
}

/** Write udhcpc's script into DIR: it sets the address and default route and prints a LEASE line. */
export function writeUdhcpcScript(dir: string): string {
  const path = join(dir, "udhcpc.sh");
  writeFileSync(
    path,
    `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "\${router%% *}"
    echo "LEASE ip=$ip router=$router dns=$dns" ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Run udhcpc on eth0 of guest G with SCRIPT (and udhcpc's options EXTRA); the lease, or null when none came. */
export async function dhcp(g: Netns, script: string, extra: string[] = []): Promise<Lease | null> {
  const args = ["udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1", "-s", script, ...extra];
  const r = await g.tryRun("busybox", args, { timeout: 30_000 });
  const m = /LEASE ip=(\S+) router=(\S*) dns=(\S*)/.exec(String(r.stdout));
  return m ? { ip: m[1]!, router: m[2]!, dns: m[3]! } : null;
}
