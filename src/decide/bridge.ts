// Deciding the `ip` commands for a network's bridge and for attaching or detaching a TAP.
import type { Network } from "../config/types.js";
import type { Link } from "../observe/links.js";
import { bridgeAlias, bridgeMac } from "../core/names.js";

/** Default MTU of a new bridge when the config sets none. */
export const DEFAULT_MTU = 1500;

/** ip commands that make the bridge exist, up, with its address; [] when it already is. */
export function bridgeLines(net: Network, bridge: Link | null, addrs: string[], hostName: string): string[] {
  const br = net.bridge;
  const lines: string[] = [];
  if (!bridge) {
    // The MAC is fixed: a bridge without one takes the lowest MAC among its ports, and when that port leaves the
    // other guests keep sending to the old gateway MAC until their ARP entries expire. STP off and forward delay
    // 0 so a new port forwards at once (with STP on, kernels refuse delay 0, and the 30 s of listening and
    // learning outlast a guest's DHCP).
    lines.push(
      `link add name ${br} address ${bridgeMac(net, hostName)}${net.mtu ? ` mtu ${net.mtu}` : ""} type bridge stp_state 0 forward_delay 0`,
    );
    lines.push(`link set dev ${br} alias ${bridgeAlias(net)}`);
  } else if (net.mtu && bridge.mtu !== net.mtu) {
    lines.push(`link set dev ${br} mtu ${net.mtu}`);
  }
  if (net.address && !addrs.includes(`${net.address.address}/${net.address.prefix}`)) {
    lines.push(`address replace ${net.address.address}/${net.address.prefix} dev ${br}`);
  }
  if (!bridge || !bridge.up) lines.push(`link set dev ${br} up`);
  return lines;
}

/** The MTU a TAP gets: the configured one, else the bridge's (as qemu-bridge-helper does). */
export function tapMtu(net: Network, bridge: Link | null): number {
  return net.mtu ?? bridge?.mtu ?? DEFAULT_MTU;
}

/** ip commands that put TAP on the bridge, with the bridge's MTU, up; [] when it already is. */
export function attachLines(net: Network, tap: Link, mtu: number): string[] {
  if (tap.master === net.bridge && tap.up && tap.mtu === mtu) return [];
  return [`link set dev ${tap.name} mtu ${mtu} master ${net.bridge} up`];
}

/** ip commands that take TAP off the bridge; [] when it is not on it (or gone). */
export function detachLines(net: Network, tap: Link | null): string[] {
  return tap && tap.master === net.bridge ? [`link set dev ${tap.name} nomaster`] : [];
}

/** True when BRIDGE was created by kvmnet for NET on the host HOSTNAME (its MAC is the one kvmnet gives it). */
export function isOurBridge(net: Network, bridge: Link, hostName: string): boolean {
  return bridge.mac.toLowerCase() === bridgeMac(net, hostName);
}
