// The per-VM guard (`guard = yes`): kvmnet's bridge-family table, `table bridge kvmnet`, sees every frame a guest
// sends into the bridge (prerouting hook) and hands it, by a verdict map keyed by the tap, to that tap's chain: the
// guest may send only from its own MAC, only IPv4, ARP and IPv6 frames (no VLAN tag, not even a priority tag),
// ARP only for its own MAC and addresses, IPv4 only from the addresses its leases gave it (DHCP from 0.0.0.0 to
// get the first one, always with its own MAC inside), IPv6 only from link-local, unspecified or the network's /64
// and never from the gateway's, neighbour discovery only with its own MAC, and never as a DHCP server or an IPv6
// router. Its IPv4 addresses are MAC . IP pairs in one set, filled from its static lease and by dnsmasq's lease
// events (see src/cli/lease-event.ts).
import { sha256Hex } from "../../core/sha256.js";
import ipaddr from "ipaddr.js";
import type { Network } from "../../config/types.js";
import { subnetOf6 } from "../../ipv6.js";
import { bridgeMac } from "../../core/names.js";

/** The bridge-family table. */
export const GUARD_TABLE = "bridge kvmnet";
/** The set of MAC . IPv4 pairs guests may send from. */
export const GUARD_IPS = "guard_ips";
/** The verdict map from a tap's name to its chain. */
export const GUARD_MAP = "guard_iif";
/** The rule of the prerouting chain that hands each frame to its tap's chain. */
export const GUARD_DISPATCH = `iifname vmap @${GUARD_MAP}`;

/** The chain of TAP. */
export function guardChain(tap: string): string {
  return `guard-${tap}`;
}

// A MAC as the raw number nft compares payload bytes with.
const raw = (mac: string) => `0x${mac.replace(/:/g, "")}`;

// The link-local address a Linux bridge with MAC derives (EUI-64, the kernel's default address generation mode).
function linkLocal(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  b[0]! ^= 2;
  const id = [b[0]!, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  return ipaddr.fromByteArray([0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...id]).toString();
}

/** The gateway's IPv6 addresses on NET's bridge on the host HOSTNAME: no guest may send from them or claim them. */
export function gatewayAddresses6(net: Network, hostName: string): string[] {
  return [...(net.address6 ? [net.address6.address] : []), linkLocal(bridgeMac(net, hostName))];
}

/** The rules of TAP's chain for a guest with MAC on NET. Offsets into the payload (@ih: after the UDP header,
 *  @th: the ICMPv6 header) are in bits: a BOOTP chaddr at byte 28; a neighbour discovery message's first option,
 *  type and length then the MAC, at byte 24 (solicitation, advertisement) or 8 (router solicitation); the
 *  advertised target at byte 8. A message without options has nothing there to read and is not dropped. */
export function guardRules(net: Network, mac: string, hostName: string): string[] {
  const six = ["::", "fe80::/10", ...(net.address6 ? [subnetOf6(net.address6)] : [])];
  const gw = gatewayAddresses6(net, hostName);
  const gwRaw = gw.map((a) => `0x${Buffer.from(ipaddr.IPv6.parse(a).toByteArray()).toString("hex")}`);
  return [
    `ether saddr != ${mac} drop`,
    // Anything tagged (802.1Q or 802.1ad, a VID 0 priority tag included) shows here as its tag's type.
    "ether type != { ip, arp, ip6 } drop",
    `arp saddr ether != ${mac} drop`,
    `arp saddr ip != 0.0.0.0 ether saddr . arp saddr ip != @${GUARD_IPS} drop`,
    "udp sport { 67, 547 } drop",
    "udp dport { 68, 546 } drop",
    `udp dport 67 @ih,224,48 != ${raw(mac)} drop`,
    "icmpv6 type { nd-router-advert, nd-redirect } drop",
    `icmpv6 type nd-router-solicit @th,64,64 != 0x0101${raw(mac).slice(2)} drop`,
    `icmpv6 type nd-neighbor-solicit @th,192,64 != 0x0101${raw(mac).slice(2)} drop`,
    `icmpv6 type nd-neighbor-advert @th,192,64 != 0x0201${raw(mac).slice(2)} drop`,
    `icmpv6 type nd-neighbor-advert @th,64,128 { ${gwRaw.join(", ")} } drop`,
    "ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept",
    `ether type ip ether saddr . ip saddr != @${GUARD_IPS} drop`,
    `ether type ip6 ip6 saddr != { ${six.join(", ")} } drop`,
    `ether type ip6 ip6 saddr { ${gw.join(", ")} } drop`,
  ];
}

/** The comment on the first rule of TAP's chain: a digest of the rules, so that a chain written by another
 *  version, or emptied, shows as not in place without comparing nft's rewording of each rule. */
export function guardStamp(net: Network, mac: string, hostName: string): string {
  const h = sha256Hex(guardRules(net, mac, hostName).join("\n")).slice(0, 12);
  return `kvmnet guard ${h}`;
}

// The shared objects, created if missing (each transaction is complete on its own).
const SHARED = [
  `add table ${GUARD_TABLE} { comment "managed by kvmnet; do not edit"; }`,
  `add set ${GUARD_TABLE} ${GUARD_IPS} { type ether_addr . ipv4_addr; }`,
  `add map ${GUARD_TABLE} ${GUARD_MAP} { type ifname : verdict; }`,
  `add chain ${GUARD_TABLE} prerouting { type filter hook prerouting priority filter; policy accept; }`,
  `flush chain ${GUARD_TABLE} prerouting`,
  `add rule ${GUARD_TABLE} prerouting ${GUARD_DISPATCH}`,
];

// TAP's chain written whole and its map element, for the guest MAC on NET.
function tapLines(net: Network, tap: string, mac: string, hostName: string): string[] {
  const c = guardChain(tap);
  const [first, ...rest] = guardRules(net, mac, hostName);
  return [
    `add chain ${GUARD_TABLE} ${c}`,
    `flush chain ${GUARD_TABLE} ${c}`,
    `add rule ${GUARD_TABLE} ${c} ${first} comment "${guardStamp(net, mac, hostName)}"`,
    ...rest.map((r) => `add rule ${GUARD_TABLE} ${c} ${r}`),
    // Replaced whole: an element of the same key with another verdict would make "add" fail.
    `add element ${GUARD_TABLE} ${GUARD_MAP} { "${tap}" : jump ${c} }`,
    `delete element ${GUARD_TABLE} ${GUARD_MAP} { "${tap}" }`,
    `add element ${GUARD_TABLE} ${GUARD_MAP} { "${tap}" : jump ${c} }`,
  ];
}

/** The transaction that guards TAP (the guest MAC on NET, with the static addresses IPS): its chain written whole,
 *  its map element, its static leases in the set. */
export function guardUpScript(net: Network, tap: string, mac: string, ips: string[], hostName: string): string {
  return guardRestoreScript(
    net,
    [{ tap, mac }],
    ips.map((ip) => ({ mac, ip })),
    hostName,
  );
}

/** The transaction that (re)builds the guard of TAPS on NET (on the host HOSTNAME) and puts PAIRS (MAC . IPv4) in
 *  the set. */
export function guardRestoreScript(
  net: Network,
  taps: { tap: string; mac: string }[],
  pairs: { mac: string; ip: string }[],
  hostName: string,
): string {
  return (
    [
      ...SHARED,
      ...taps.flatMap((t) => tapLines(net, t.tap, t.mac, hostName)),
      ...pairs.map((p) => `add element ${GUARD_TABLE} ${GUARD_IPS} { ${p.mac} . ${p.ip} }`),
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
      `add element ${GUARD_TABLE} ${GUARD_MAP} { "${tap}" : jump ${c} }`,
      `delete element ${GUARD_TABLE} ${GUARD_MAP} { "${tap}" }`,
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
