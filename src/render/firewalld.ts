// kvmnet's own firewalld zones and policies, modelled on libvirt's (`libvirt`, `libvirt-routed` and its three
// policies), rendered byte for byte as firewalld itself writes them (firewall/core/io/zone.py, policy.py): a
// `firewall-cmd --permanent` change rewrites a zone file, and "up to date?" stays a text comparison. Pure.
import type { Network } from "../config/types.js";
import { traits } from "../modes.js";

/** firewalld's configuration directory: kvmnet writes only its own files there (zones/kvmnet*.xml and
 *  policies/kvmnet-*.xml), never the admin's. */
export const FIREWALLD_ETC = "/etc/firewalld";

/** kvmnet's zones: NAT networks (forwarding out accepted, new connections in refused by firewalld); routed ones
 *  (forwarding both ways, through the policies below); host-only and isolated ones (the host's DHCP and DNS only,
 *  guests to each other on the bridge). */
export type KvmnetZone = "kvmnet" | "kvmnet-routed" | "kvmnet-local";

/** Every zone kvmnet installs. */
export const KVMNET_ZONES: readonly KvmnetZone[] = ["kvmnet", "kvmnet-routed", "kvmnet-local"];

/** The zone NET's bridge belongs in; null for bridge mode (the admin's bridge, the admin's zone). */
export function zoneOf(net: Network): KvmnetZone | null {
  const t = traits(net);
  if (!t.firewall) return null;
  return t.nat ? "kvmnet" : t.forwarding ? "kvmnet-routed" : "kvmnet-local";
}

const SERVICES = ["dhcp", "dhcpv6", "dns"].map((s) => `  <service name="${s}"/>`);
const ICMP = ["icmp", "ipv6-icmp"].map((p) => `  <protocol value="${p}"/>`);

// Each zone's body between <short>/<description> and its interfaces, and what follows them.
const ZONES: Record<KvmnetZone, { target?: string; description: string; body: string[]; tail: string[] }> = {
  // libvirt's zone: target ACCEPT lets forwarded traffic from the bridge out; the lowest-priority reject keeps
  // the host closed except for the listed services.
  kvmnet: {
    target: "ACCEPT",
    description:
      "Bridges of kvmnet's nat networks: their traffic out is forwarded; to the host only DHCP, DNS and ICMP. Written by kvmnet: add rules in a policy of your own (ingress zone kvmnet), not here.",
    body: [...SERVICES, ...ICMP, '  <rule priority="32767">', "    <reject/>", "  </rule>"],
    tail: [],
  },
  // libvirt-routed: the zone is empty; the policies kvmnet-routed-in/-out and kvmnet-to-host say what passes.
  "kvmnet-routed": {
    description:
      "Bridges of kvmnet's routed networks: forwarding both ways (policies kvmnet-routed-in, kvmnet-routed-out); to the host only DHCP, DNS and ICMP (policy kvmnet-to-host). Written by kvmnet.",
    body: [],
    tail: [],
  },
  // No forwarding beyond the bridge; <forward/> lets guests reach each other when br_netfilter sends their
  // frames through the forward hook (in and out the same bridge).
  "kvmnet-local": {
    description:
      "Bridges of kvmnet's host-only and isolated networks: to the host only DHCP, DNS and ICMP, no forwarding beyond the bridge. Written by kvmnet.",
    body: [...SERVICES, ...ICMP],
    tail: ["  <forward/>"],
  },
};

const POLICIES: Record<string, { target: string; description: string; body: string[]; from: string; to: string }> = {
  "kvmnet-routed-in": {
    target: "ACCEPT",
    description: "Traffic forwarded to the guests of kvmnet's routed networks.",
    body: [],
    from: "ANY",
    to: "kvmnet-routed",
  },
  "kvmnet-routed-out": {
    target: "ACCEPT",
    description: "Traffic forwarded from the guests of kvmnet's routed networks.",
    body: [],
    from: "kvmnet-routed",
    to: "ANY",
  },
  "kvmnet-to-host": {
    target: "REJECT",
    description: "Traffic from the guests of kvmnet's routed networks to the host: DHCP, DNS and ICMP.",
    body: [...SERVICES, ...ICMP],
    from: "kvmnet-routed",
    to: "HOST",
  },
};

const HEAD = '<?xml version="1.0" encoding="utf-8"?>';

/** The path of ZONE's file under ETC. */
export function zonePath(zone: string, etc = FIREWALLD_ETC): string {
  return `${etc}/zones/${zone}.xml`;
}

/** ZONE's file binding INTERFACES, as firewalld writes it. */
export function renderZone(zone: KvmnetZone, interfaces: readonly string[]): string {
  const z = ZONES[zone];
  return [
    HEAD,
    z.target ? `<zone target="${z.target}">` : "<zone>",
    `  <short>${zone}</short>`,
    `  <description>${z.description}</description>`,
    ...z.body,
    ...[...new Set(interfaces)].map((i) => `  <interface name="${i}"/>`),
    ...z.tail,
    "</zone>",
    "",
  ].join("\n");
}

/** kvmnet's policy files (path under ETC, content), as firewalld writes them. */
export function renderPolicies(etc = FIREWALLD_ETC): { path: string; content: string }[] {
  return Object.entries(POLICIES).map(([name, p]) => ({
    path: `${etc}/policies/${name}.xml`,
    content: [
      HEAD,
      `<policy target="${p.target}">`,
      `  <short>${name}</short>`,
      `  <description>${p.description}</description>`,
      ...p.body,
      `  <ingress-zone name="${p.from}"/>`,
      `  <egress-zone name="${p.to}"/>`,
      "</policy>",
      "",
    ].join("\n"),
  }));
}

/** The interfaces a zone file binds (firewalld's own writing or kvmnet's). */
export function zoneInterfaces(content: string): string[] {
  return [...content.matchAll(/<interface\s+name="([^"]+)"\s*\/>/g)].map((m) => m[1]!);
}

/** A zone file without its interface lines: what kvmnet compares to tell whether its definition is current. */
export function zoneDefinition(content: string): string {
  return content.replace(/^\s*<interface\s+name="[^"]*"\s*\/>\n/gm, "");
}
