// The lines of a network's dnsmasq config for its DNS keys and dhcp_option keys (src/config/dns.ts).
import type { Network } from "../config/types.js";

/** dnsmasq lines for NET's dns, dns_forwarders, dns_srv/txt/cname and dhcp_option keys (none when unset). */
export function dnsLines(net: Network): string[] {
  const lines: string[] = [];
  const dns = net.dns;
  // Port 0 turns off dnsmasq's DNS, and with it the DNS server option it would send (its own address).
  if (dns?.off) lines.push("port=0");
  if (dns && dns.forwarders.length) {
    // Only these servers, never the host's resolv.conf (which may name 127.0.0.53, unreachable for guests' queries).
    lines.push("no-resolv", ...dns.forwarders.map((a) => `server=${a}`));
  }
  for (const r of dns?.srv ?? []) lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`);
  for (const r of dns?.txt ?? []) lines.push(`txt-record=${r.name},"${r.text}"`);
  for (const r of dns?.cname ?? []) lines.push(`cname=${r.alias},${r.target}`);
  for (const o of net.dhcpOptions ?? []) lines.push(`dhcp-option=${o.spec},${o.value}`);
  return lines;
}
