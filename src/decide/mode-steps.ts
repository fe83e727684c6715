// Mode-specific decisions beside the common path of decide/network-steps.ts: bridge mode (attach to a bridge that
// is there, or a VLAN bridge), and no IPv6 on the bridges that promise "nothing beyond".
import type { Network } from "../config/types.js";
import type { ModeObserved } from "../observe/mode.js";
import type { Observed } from "../observe/snapshot.js";
import type { Step } from "../core/steps.js";
import { traits } from "../modes.js";
import { raOffSteps } from "./ra.js";
import { vlanJoinLines, vlanMakeLines } from "./vlan.js";

/** Steps of a bridge-mode network before its TAP is attached. A plain bridge is the admin's (or was built
 *  over the uplink by the uplink-move step, see converge/decision.ts): kvmnet changes nothing on it. A VLAN bridge
 *  is made if missing, and one kvmnet makes takes no router advertisements, set before the VLAN joins it. */
export function bridgeModeUpSteps(net: Network, obs: Observed): Step[] {
  if (!traits(net).vlan || net.vlan === undefined) return [];
  const ip = (lines: string[]): Step[] => (lines.length ? [{ kind: "ip", lines }] : []);
  return [
    ...ip(vlanMakeLines(net, obs.bridge, obs.mode)),
    ...raOffSteps(net, obs.bridge, obs.mode),
    ...ip(vlanJoinLines(net, obs.mode)),
  ];
}

/** Isolated and host-only bridges get IPv6 turned off (unless a host-only network has address6): through the
 *  bridge's link-local address guests would reach the host (isolated), and the modes promise nothing beyond.
 *  Guests still talk IPv6 among themselves: that is switched, not routed. */
export function ipv6OffSteps(net: Network, bridgeExists: boolean, mode: ModeObserved): Step[] {
  if (!traits(net).ipv6Off || net.address6 || !mode.ipv6) return [];
  if (bridgeExists && mode.bridgeIpv6Off !== false) return [];
  return [{ kind: "sysctl", path: `/proc/sys/net/ipv6/conf/${net.bridge}/disable_ipv6`, value: "1" }];
}
