// The lines of a network's dnsmasq config for its DNS keys and dhcp_option keys (src/config/dns.ts).
import type { Network } from "../config/types.js";
import { networkOf, type Cidr } from "../ipv4.js";

/** dnsmasq lines for NET's dns, dns_forwarders, dns_srv/txt/cname and dhcp_option keys (none when unset). */
export function dnsLines(net: Network): string[] {
  const lines: string[] = [];
  const dns = net.dns;
  // Port 0 turns off dnsmasq's DNS, and with it the DNS server option it would send (its own address).
  if (dns?.off) lines.push("port=0");
  if (dns && dns.forwarders.length) {
    // Only these servers, never the host's resolv.conf (which may name 127.0.0.53, unreachable for guests' queries).
    lines.push("no-resolv", ...dns.forwarders.map((a) => `server=${a}`));
    // Reverse lookups in the guests' subnet are answered here (names of leases and hosts, else NXDOMAIN), never
    // sent to those servers, which know nothing of it.
    if (net.address) lines.push(...reverseZones(net.address).map((z) => `local=/${z}/`));
  }
  for (const r of dns?.srv ?? []) lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`);
  for (const r of dns?.txt ?? []) lines.push(`txt-record=${r.name},"${r.text}"`);
  for (const r of dns?.cname ?? []) lines.push(`cname=${r.alias},${r.target}`);
  return lines;
}

/** The dhcp-optsfile of NET's dhcp_option keys (one `SPEC,VALUE` a line), or null when it has none. */
export function dhcpOptsFile(net: Network): string | null {
  return net.dhcpOptions?.length ? net.dhcpOptions.map((o) => `${o.spec},${o.value}\n`).join("") : null;
}

// The in-addr.arpa zones that cover C's subnet: one per octet boundary (a /22 is four /24 zones).
function reverseZones(c: Cidr): string[] {
  const whole = Math.ceil(c.prefix / 8);
  const octets = networkOf(c).split(".").map(Number).slice(0, whole);
  const span = 2 ** (whole * 8 - c.prefix);
  return Array.from({ length: span }, (_, i) => {
    const o = [...octets];
    o[whole - 1] = o[whole - 1]! + i;
    return `${o.reverse().join(".")}.in-addr.arpa`;
  });
}
