// A VLAN network (mode = bridge with vlan and trunk): a bridge of its own over TRUNK.VID, so the guests on
// it see VLAN VID's segment and nothing of the trunk's other VLANs (the seed's "bridge + VLAN" switch).
import type { Network, VlanBridgeNetwork } from "../config/types.js";
import type { Link } from "../observe/links.js";
import { type ModeObserved } from "../observe/mode.js";
import { bridgeAlias } from "../core/names.js";
import { bridgeLines } from "./bridge.js";
import { vlanPortOf } from "../core/names.js";

/** ip lines that make TRUNK.VID and the bridge exist, the one a port of the other, all up; [] when they are. */
export function vlanUpLines(net: VlanBridgeNetwork, bridge: Link | null, mode: ModeObserved): string[] {
  return [...vlanMakeLines(net, bridge, mode), ...vlanJoinLines(net, mode)];
}

/** ip lines that make TRUNK.VID and the bridge exist and up, before the one joins the other. */
export function vlanMakeLines(net: VlanBridgeNetwork, bridge: Link | null, mode: ModeObserved): string[] {
  const sub = vlanPortOf(net);
  const port = mode.vlanPort ?? null;
  const lines: string[] = [];
  // The raw device must be up for its VLANs to pass anything (ifupdown's vlan script does the same).
  if (mode.trunk && !mode.trunk.up) lines.push(`link set dev ${net.trunk} up`);
  // The VLAN device first: without 802.1Q support this line fails and nothing has been made yet.
  if (!port) {
    lines.push(`link add link ${net.trunk} name ${sub}${net.mtu ? ` mtu ${net.mtu}` : ""} type vlan id ${net.vlan}`);
    lines.push(`link set dev ${sub} alias ${bridgeAlias(net)}`);
  }
  // A VLAN bridge is never a member host's bridge of a network across hosts: its MAC takes no host name.
  lines.push(...bridgeLines(net, bridge, [], ""));
  return lines;
}

/** The ip line that makes TRUNK.VID a port of the bridge, up; [] when it is. */
export function vlanJoinLines(net: VlanBridgeNetwork, mode: ModeObserved): string[] {
  const port = mode.vlanPort ?? null;
  return !port || port.link.master !== net.bridge || !port.link.up
    ? [`link set dev ${vlanPortOf(net)} master ${net.bridge} up`]
    : [];
}

/** ip lines that remove TRUNK.VID when kvmnet made it (its alias says so); [] otherwise. */
export function vlanDownLines(net: Network, mode: ModeObserved): string[] {
  const port = mode.vlanPort;
  return port && port.alias === bridgeAlias(net) ? [`link delete dev ${port.link.name}`] : [];
}
