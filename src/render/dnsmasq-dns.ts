// The lines of a network's dnsmasq config for its DNS keys and dhcp_option keys (src/config/dns.ts).
import type { Network } from "../config/types.js";
import { reverseZones4, reverseZone6 } from "./reverse-zones.js";

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
  lines.push(...localReverseZones(net).map((z) => `local=/${z}/`));
  for (const r of dns?.srv ?? []) lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`);
  for (const r of dns?.txt ?? []) lines.push(`txt-record=${r.name},"${r.text}"`);
  for (const r of dns?.cname ?? []) lines.push(`cname=${r.alias},${r.target}`);
  return lines;
}

/** The dhcp-optsfile of NET's dhcp_option keys (one `SPEC,VALUE` a line), or null when it has none. */
export function dhcpOptsFile(net: Network): string | null {
  return net.dhcpOptions?.length ? net.dhcpOptions.map((o) => `${o.spec},${o.value}\n`).join("") : null;
}

/** The reverse zones of NET's subnets its dnsmasq answers itself (names of leases and hosts, else NXDOMAIN), never
 *  upstream: with dns_forwarders, which know nothing of them; with a domain, because systemd-resolved sends those
 *  zones to this dnsmasq (src/render/resolved.ts), and asking the host's resolver back would loop. */
export function localReverseZones(net: Network): string[] {
  if (!net.address || net.dns?.off || !(net.dns?.forwarders.length || net.domain)) return [];
  return [...reverseZones4(net.address), ...(net.address6 ? [reverseZone6(net.address6)] : [])];
}
