// The dnsmasq configuration of a network, rendered as text (the option set libvirt gives its own dnsmasq).
import { traits } from "../modes.js";
import type { Config, Network } from "../config/types.js";
import { netmaskOf, toInt } from "../ipv4.js";
import { size6 } from "../ipv6.js";
import { dnsmasqFiles } from "../core/names.js";
import { dhcpOptsFile, dnsLines } from "./dnsmasq-dns.js";
import { tftpLines } from "./dnsmasq-tftp.js";

/** The rendered files of a network's dnsmasq. */
export interface DnsmasqFiles {
  conf: string;
  hosts: string;
  addnHosts: string;
  /** With dhcp_option keys: the dhcp-optsfile (re-read on SIGHUP). */
  opts: string | null;
}

/** dnsmasq's config, hostsfile and addn-hosts for NET, or null when NET runs no DHCP. */
export function renderDnsmasq(config: Config, net: Network): DnsmasqFiles | null {
  if (!net.dhcpRange || !net.address) return null;
  const f = dnsmasqFiles(config, net);
  const { first, last } = net.dhcpRange;
  const lines = [
    `# dnsmasq for kvmnet network ${net.name} (bridge ${net.bridge}); written by kvmnet, do not edit`,
    "strict-order",
    // Plain names (no dot) are the guests' own: answer them here, never ask upstream.
    "domain-needed",
    // No pid file from dnsmasq (an empty value turns off its default /var/run/dnsmasq.pid too): it would chown
    // it to nobody, and any nobody process could rewrite it. kvmnet records the pid itself, root's.
    "pid-file=",
    "except-interface=lo",
    "bind-dynamic",
    `interface=${net.bridge}`,
    `dhcp-range=${first},${last},${netmaskOf(net.address.prefix)}`,
    "dhcp-no-override",
    // No ping before offering a new address: it delays every first lease by ~3 s, on a bridge where
    // dnsmasq hands out every address itself.
    "no-ping",
    "dhcp-authoritative",
    // The limit counts IPv4 and DHCPv6 leases together.
    `dhcp-lease-max=${toInt(last) - toInt(first) + 1 + (net.dhcp6Range ? size6(net.dhcp6Range.first, net.dhcp6Range.last) : 0)}`,
    `dhcp-leasefile=${f.leases}`,
    `dhcp-hostsfile=${f.hosts}`,
    `addn-hosts=${f.addnHosts}`,
  ];
  if (net.domain) {
    // Guests' names also as NAME.DOMAIN (static hosts and DHCP clients), answered here and never forwarded;
    // domain= also sends DHCP option 15, and option 119 makes resolvers that never send single-label names
    // to unicast DNS (systemd-resolved) try web.DOMAIN for "web".
    lines.push(
      `domain=${net.domain}`,
      `local=/${net.domain}/`,
      "expand-hosts",
      `dhcp-option=option:domain-search,${net.domain}`,
    );
  }
  const opts = dhcpOptsFile(net);
  lines.push(...dnsLines(net), ...(opts !== null ? [`dhcp-optsfile=${f.opts}`] : []), ...tftpLines(net));
  // A host-only network must not hand out a default route: the host forwards nothing for it.
  if (!traits(net).router) lines.push("dhcp-option=option:router");
  if (net.mtu) lines.push(`dhcp-option=option:mtu,${net.mtu}`);
  if (net.address6) lines.push(...ipv6Lines(net, net.dhcp6Range));
  // The guard learns each guest's address from its lease: dnsmasq runs the script as root on every lease event.
  if (net.guard) lines.push(`dhcp-script=${f.leaseEvent}`);
  // dnsmasq finds a lease by the client identifier (option 61) before the MAC, and every guest sees the others'
  // identifiers in their broadcast requests: with one, a guest would be given another's address, and the lease
  // event would put its MAC with that address into the guard's set. Leases go by the MAC, which the guard pins.
  if (net.guard) lines.push("dhcp-ignore-clid");
  return {
    conf: lines.join("\n") + "\n",
    hosts: net.hosts.map((h) => `${h.mac},${h.ip},${h.name}\n`).join(""),
    addnHosts: net.hosts.map((h) => `${h.ip} ${h.name}\n`).join(""),
    opts,
  };
}

/** With guard = yes: the dhcp-script wrapper dnsmasq's root helper runs on each lease event, which runs KVMNET
 *  (the command line of the running kvmnet, as shell words); null without guard. */
export function renderLeaseEvent(net: Network, kvmnet: string | null): string | null {
  if (!net.guard || kvmnet === null) return null;
  return `#!/bin/sh\n# kvmnet: dnsmasq's lease events for the guard of network ${net.name}\nexec ${kvmnet} "$@"\n`;
}

// Router advertisements for the bridge's /64: SLAAC, with DNS by stateless DHCPv6 (RDNSS and the DHCPv6 answer
// name dnsmasq's own address), or with DHCPv6 addresses from DHCP6_RANGE as well. ra-param carries the MTU, and
// for a host-only network a router lifetime of 0: the guests learn the prefix but no default route.
function ipv6Lines(net: Network, range?: { first: string; last: string }): string[] {
  const lines = [
    "enable-ra",
    range
      ? `dhcp-range=${range.first},${range.last},slaac,64,1h`
      : `dhcp-range=::,constructor:${net.bridge},ra-stateless,64`,
  ];
  const lifetime = traits(net).router ? 1800 : 0;
  lines.push(`ra-param=${net.bridge},${net.mtu ? `mtu:${net.mtu},` : ""}60,${lifetime}`);
  return lines;
}
