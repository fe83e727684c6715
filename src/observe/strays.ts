// Interfaces left without a bridge when a network's bridge went away (deleted by hand, or by a crash): the taps
// of VMs that still run. Read from /sys/class/net and getifaddrs only, so looking costs no process.
import { networkInterfaces } from "node:os";
import type { Config, Network } from "../config/types.js";
import { globMatch } from "../select.js";
import { isRunning, listLinks, readLink, type Link } from "./links.js";

/** Interfaces matching NET's `taps` globs that are on no bridge and are not the host's: no bridge, no uplink or
 *  trunk of any network, no address. Only those up and running qualify: a VM's tap whose QEMU still holds it
 *  is, and getifaddrs (the address check here) sees every address of such an interface. */
export function strayTaps(config: Config, net: Network): Link[] {
  if (!net.taps.length) return [];
  const names = listLinks().filter((n) => net.taps.some((g) => globMatch(g, n)));
  if (!names.length) return [];
  const host = new Set(
    config.networks.flatMap((n) => [
      n.bridge,
      n.uplink,
      n.trunk,
      n.trunk && n.vlan ? `${n.trunk}.${n.vlan}` : undefined,
    ]),
  );
  const addressed = new Set(
    Object.entries(networkInterfaces())
      .filter(([, a]) => (a ?? []).some((x) => x.family === "IPv4" || !x.address.toLowerCase().startsWith("fe80:")))
      .map(([n]) => n),
  );
  return names.flatMap((name) => {
    const l = readLink(name);
    const ok = l && !l.isBridge && l.master === null && !host.has(name) && !addressed.has(name) && isRunning(name);
    return ok ? [l] : [];
  });
}
