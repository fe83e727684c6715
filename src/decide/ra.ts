// Router advertisements on kvmnet's own bridges: a guest must never route the host. With accept_ra = 1 (the
// kernel's default while forwarding is off) an RA forged by a guest gives the host a default route through that
// guest, and with autoconf = 1 an address in the guest's prefix. That holds for a VLAN bridge kvmnet makes in
// bridge mode too (the host has no address on a guests' VLAN, and an RA from a guest there would route the host).
// The rest of bridge mode is left alone: a bridge built over the uplink carries the host's own address (maybe from
// the real router's RAs), and an admin's bridge (a VLAN bridge kvmnet did not make included) is the admin's.
import type { Network } from "../config/types.js";
import { traits } from "../modes.js";
import type { Link } from "../observe/links.js";
import type { ModeObserved } from "../observe/mode.js";
import type { Step } from "../core/steps.js";
import { isOurBridge } from "./bridge.js";

const CONF = "/proc/sys/net/ipv6/conf";

/** Sysctl steps that make NET's own bridge ignore router advertisements (accept_ra = 0, autoconf = 0): both for a
 *  BRIDGE about to be made, those not yet 0 for one that exists; none for bridge mode but a VLAN bridge kvmnet
 *  makes, or a host without IPv6. */
export function raOffSteps(net: Network, bridge: Link | null, mode: ModeObserved): Step[] {
  // A VLAN bridge's MAC takes no host name (src/decide/vlan.ts).
  const vlanOurs = traits(net).vlan && net.vlan !== undefined && (!bridge || isOurBridge(net, bridge, ""));
  if (!(traits(net).ownBridge || vlanOurs) || !mode.ipv6) return [];
  const bridgeExists = bridge !== null;
  const wanted = (seen: string | null | undefined) => !bridgeExists || (seen != null && seen !== "0");
  const steps: Step[] = [];
  // accept_ra first: once it is 0 no RA is processed at all, autoconf included.
  if (wanted(mode.bridgeAcceptRa)) steps.push({ kind: "sysctl", path: `${CONF}/${net.bridge}/accept_ra`, value: "0" });
  if (wanted(mode.bridgeAutoconf)) steps.push({ kind: "sysctl", path: `${CONF}/${net.bridge}/autoconf`, value: "0" });
  return steps;
}
