// What a network's firewall must let through and block, independent of the backend (nftables or iptables).
// Modelled on libvirt's chains: guest_cross, guest_input, guest_output, then reject the rest of the bridge.
import type { Network } from "../config/types.js";
import { subnetOf } from "../ipv4.js";
import { subnetOf6 } from "../ipv6.js";
import { traits } from "../modes.js";

/** What a rule does with a packet it matches. */
export type Verdict = "accept" | "reject" | "drop";

/** One rule: every given field must match. */
export interface Rule {
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  /** A published port's traffic, DNATed to the guest: protocol and the guest's port, conntrack status dnat. */
  dnat?: { proto: "tcp" | "udp"; port: number };
  established?: boolean;
  verdict: Verdict;
}

/** A rule of the input hook, optionally for some ports only. */
export interface InputRule extends Rule {
  proto?: "udp" | "tcp";
  ports?: number[];
}

/** The whole policy of a network. */
export interface Policy {
  input: InputRule[];
  forward: Rule[];
  nat?: { snatTo?: string; oif?: string };
}

/** The firewall policy NET needs, or null when it needs no rules (a plain bridge network). With `address6` every
 *  IPv4 rule that names the subnet has its IPv6 twin for the /64 (renderers tell the families apart by the
 *  address), and DHCPv6 is let in beside DHCP and DNS. Neighbour discovery and router solicitations never leave
 *  the link, and the input chains of the modes with an address only accept: nothing to add for them. */
export function forwardPolicy(net: Network): Policy | null {
  const br = net.bridge;
  const dhcpDns: InputRule[] = [
    { iif: br, proto: "udp", ports: net.address6 ? [53, 67, 547] : [53, 67], verdict: "accept" },
    { iif: br, proto: "tcp", ports: [53], verdict: "accept" },
  ];
  const cross: Rule = { iif: br, oif: br, verdict: "accept" };
  const rejectRest: Rule[] = [
    { iif: br, verdict: "reject" },
    { oif: br, verdict: "reject" },
  ];
  switch (net.mode) {
    case "bridge":
      return null;
    case "isolated":
      return { input: [{ iif: br, verdict: "drop" }], forward: [cross, ...rejectRest] };
    case "host-only":
      return { input: dhcpDns, forward: [cross, ...rejectRest] };
    case "nat":
    case "routed": {
      const subnets = [subnetOf(net.address), ...(net.address6 ? [subnetOf6(net.address6)] : [])];
      const up = net.uplink;
      const inbound = subnets.map((s): Rule => ({
        ...(up ? { iif: up } : {}),
        oif: br,
        daddr: s,
        ...(traits(net).nat ? { established: true } : {}),
        verdict: "accept",
      }));
      const outbound = subnets.map((s): Rule => ({ iif: br, ...(up ? { oif: up } : {}), saddr: s, verdict: "accept" }));
      // Published ports: what DNAT sent to a guest may enter, from wherever it came.
      const published = (net.publish ?? []).map((p): Rule => ({
        oif: br,
        daddr: p.to,
        dnat: { proto: p.proto, port: p.toPort },
        verdict: "accept",
      }));
      const policy: Policy = {
        input: dhcpDns,
        forward: [cross, ...inbound, ...published, ...outbound, ...rejectRest],
      };
      if (traits(net).nat) policy.nat = { ...(net.snatTo ? { snatTo: net.snatTo } : {}), ...(up ? { oif: up } : {}) };
      return policy;
    }
  }
}
