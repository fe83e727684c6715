// The IPv6 steps of a network with `address6`: IPv6 on for its bridge, the bridge's address, and forwarding for
// nat and routed networks, turned on the way Incus does it: every host interface that takes router
// advertisements only while not forwarding (accept_ra = 1) first gets accept_ra = 2, so the host keeps its own
// SLAAC default route.
import type { Network } from "../config/types.js";
import { traits } from "../modes.js";
import type { Observed } from "../observe/snapshot.js";
import { isOurBridge } from "./bridge.js";
import type { Step } from "../core/steps.js";

const CONF = "/proc/sys/net/ipv6/conf";

/** Steps that give NET's bridge its IPv6 address and the host IPv6 forwarding where the mode needs it. */
export function ipv6UpSteps(net: Network, obs: Observed): Step[] {
  const a = net.address6;
  const six = obs.ipv6;
  if (!a || !six) return [];
  const steps: Step[] = [];
  const off = obs.bridge ? obs.mode.bridgeIpv6Off === true : six.defaultOff;
  if (off) steps.push({ kind: "sysctl", path: `${CONF}/${net.bridge}/disable_ipv6`, value: "0" });
  // nodad: the bridge and its address are kvmnet's own, and a tentative address would hold back dnsmasq's RAs.
  if (off || !six.bridgeAddrs.includes(`${a.address}/${a.prefix}`))
    steps.push({ kind: "ip", lines: [`address replace ${a.address}/${a.prefix} dev ${net.bridge} nodad`] });
  if (traits(net).forwarding && !six.forwarding) {
    for (const i of six.acceptRaOnlyHost) steps.push({ kind: "sysctl", path: `${CONF}/${i}/accept_ra`, value: "2" });
    steps.push({ kind: "sysctl", path: `${CONF}/all/forwarding`, value: "1" });
  }
  return steps;
}

/** Steps that remove from NET's bridge (kvmnet's own) the IPv6 addresses kvmnet put there that the config no
 *  longer names: address6 removed or changed. Without them the host would keep answering on the old prefix. */
export function ipv6StaleSteps(net: Network, obs: Observed): Step[] {
  if (!obs.bridge || !isOurBridge(net, obs.bridge, obs.hostName)) return [];
  const a = net.address6;
  const want = a ? `${a.address}/${a.prefix}` : null;
  const stale = (obs.bridgeOwn6 ?? []).filter((x) => x !== want);
  return stale.length ? [{ kind: "ip", lines: stale.map((x) => `address del ${x} dev ${net.bridge}`) }] : [];
}
