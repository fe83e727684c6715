// The per-VM guard (`guard = yes`): kvmnet's bridge-family table, `table bridge kvmnet`, sees every frame a guest
// sends into the bridge (prerouting hook) and hands it, by a verdict map keyed by the tap, to that tap's chain: the
// guest may send only from its own MAC, ARP only for its own MAC and addresses, IPv4 only from the addresses its
// leases gave it (DHCP from 0.0.0.0 to get the first one), IPv6 only from link-local, unspecified or the network's
// /64, and never as a DHCP server or an IPv6 router. Its IPv4 addresses are MAC . IP pairs in one set, filled
// from its static lease and by dnsmasq's lease events (see src/cli/lease-event.ts).
import type { Network } from "../config/types.js";
import { subnetOf6 } from "../ipv6.js";

/** The bridge-family table. */
export const GUARD_TABLE = "bridge kvmnet";
/** The set of MAC . IPv4 pairs guests may send from. */
export const GUARD_IPS = "guard_ips";
const MAP = "guard_iif";

/** The chain of TAP. */
export function guardChain(tap: string): string {
  return `guard-${tap}`;
}

/** The rules of TAP's chain for a guest with MAC on NET, as nft prints them. */
export function guardRules(net: Network, mac: string): string[] {
  const six = ["::", "fe80::/10", ...(net.address6 ? [subnetOf6(net.address6)] : [])];
  return [
    `ether saddr != ${mac} drop`,
    `arp saddr ether != ${mac} drop`,
    `arp saddr ip != 0.0.0.0 ether saddr . arp saddr ip != @${GUARD_IPS} drop`,
    "udp sport { 67, 547 } drop",
    "icmpv6 type nd-router-advert drop",
    "ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept",
    `ether type ip ether saddr . ip saddr != @${GUARD_IPS} drop`,
    `ether type ip6 ip6 saddr != { ${six.join(", ")} } drop`,
  ];
}

// The shared objects, created if missing (each transaction is complete on its own).
const SHARED = [
  `add table ${GUARD_TABLE} { comment "managed by kvmnet; do not edit"; }`,
  `add set ${GUARD_TABLE} ${GUARD_IPS} { type ether_addr . ipv4_addr; }`,
  `add map ${GUARD_TABLE} ${MAP} { type ifname : verdict; }`,
  `add chain ${GUARD_TABLE} prerouting { type filter hook prerouting priority filter; policy accept; }`,
  `flush chain ${GUARD_TABLE} prerouting`,
  `add rule ${GUARD_TABLE} prerouting iifname vmap @${MAP}`,
];

/** The transaction that guards TAP (the guest MAC on NET, with the static addresses IPS): its chain written whole,
 *  its map element, its static leases in the set. */
export function guardUpScript(net: Network, tap: string, mac: string, ips: string[]): string {
  const c = guardChain(tap);
  return (
    [
      ...SHARED,
      `add chain ${GUARD_TABLE} ${c}`,
      `flush chain ${GUARD_TABLE} ${c}`,
      ...guardRules(net, mac).map((r) => `add rule ${GUARD_TABLE} ${c} ${r}`),
      // Replaced whole: an element of the same key with another verdict would make "add" fail.
      `add element ${GUARD_TABLE} ${MAP} { "${tap}" : jump ${c} }`,
      `delete element ${GUARD_TABLE} ${MAP} { "${tap}" }`,
      `add element ${GUARD_TABLE} ${MAP} { "${tap}" : jump ${c} }`,
      ...ips.map((ip) => `add element ${GUARD_TABLE} ${GUARD_IPS} { ${mac} . ${ip} }`),
    ].join("\n") + "\n"
  );
}

/** The transaction that removes TAP's guard, whether or not it is there (made first, then deleted). */
export function guardDownScript(tap: string): string {
  const c = guardChain(tap);
  return (
    [
      ...SHARED,
      `add chain ${GUARD_TABLE} ${c}`,
      `add element ${GUARD_TABLE} ${MAP} { "${tap}" : jump ${c} }`,
      `delete element ${GUARD_TABLE} ${MAP} { "${tap}" }`,
      `delete chain ${GUARD_TABLE} ${c}`,
    ].join("\n") + "\n"
  );
}

/** The transaction that adds (or, DELETE, removes) the pair MAC . IP; deleting one that is not there is no error. */
export function guardIpScript(mac: string, ip: string, del: boolean): string {
  const el = `${GUARD_TABLE} ${GUARD_IPS} { ${mac} . ${ip} }`;
  return (
    [
      `add table ${GUARD_TABLE}`,
      `add set ${GUARD_TABLE} ${GUARD_IPS} { type ether_addr . ipv4_addr; }`,
      `add element ${el}`,
      ...(del ? [`delete element ${el}`] : []),
    ].join("\n") + "\n"
  );
}
