// The keys a config file may hold, which modes take each, and how to suggest the key a typo meant.
import type { Mode } from "./types.js";

/** Keys of `[global]`. */
export const GLOBAL_KEYS = ["firewall", "state_dir", "lease_dir"] as const;

/** Keys of a network section and the modes that accept each ("host.NAME" stands for every static lease). */
export const NETWORK_KEYS: Record<string, readonly Mode[]> = {
  mode: ["nat", "routed", "host-only", "isolated", "bridge"],
  bridge: ["nat", "routed", "host-only", "isolated", "bridge"],
  address: ["nat", "routed", "host-only"],
  dhcp_range: ["nat", "routed", "host-only"],
  address6: ["nat", "routed", "host-only"],
  dhcp6_range: ["nat", "routed", "host-only"],
  uplink: ["nat", "routed", "bridge"],
  snat_to: ["nat"],
  publish: ["nat"],
  guard: ["nat", "routed", "host-only"],
  "host.NAME": ["nat", "routed", "host-only"],
  taps: ["nat", "routed", "host-only", "isolated", "bridge"],
  default: ["nat", "routed", "host-only", "isolated", "bridge"],
  mtu: ["nat", "routed", "host-only", "isolated", "bridge"],
  teardown: ["nat", "routed", "host-only", "isolated", "bridge"],
  autostart: ["nat", "routed", "host-only", "isolated", "bridge"],
  vlan: ["bridge"],
  trunk: ["bridge"],
  domain: ["nat", "routed", "host-only"],
  vxlan_id: ["nat", "routed", "host-only", "isolated"],
  vxlan_dev: ["nat", "routed", "host-only", "isolated"],
  vxlan_peers: ["nat", "routed", "host-only", "isolated"],
  vxlan_port: ["nat", "routed", "host-only", "isolated"],
  vxlan_local: ["nat", "routed", "host-only", "isolated"],
  evpn: ["nat", "routed", "host-only", "isolated"],
  evpn_asn: ["nat", "routed", "host-only", "isolated"],
  role: ["nat", "routed", "host-only"],
  port_isolation: ["nat", "routed", "host-only", "isolated"],
  rate: ["nat", "routed", "host-only", "isolated"],
  "tap.NAME.port_isolation": ["nat", "routed", "host-only", "isolated"],
  "tap.NAME.rate": ["nat", "routed", "host-only", "isolated"],
  dns: ["nat", "routed", "host-only"],
  tftp_root: ["nat", "routed", "host-only"],
  boot_file: ["nat", "routed", "host-only"],
  boot_file_efi: ["nat", "routed", "host-only"],
  boot_file_ipxe: ["nat", "routed", "host-only"],
  boot_server: ["nat", "routed", "host-only"],
  dns_forwarders: ["nat", "routed", "host-only"],
  "dns_srv.NAME": ["nat", "routed", "host-only"],
  "dns_txt.NAME": ["nat", "routed", "host-only"],
  "dns_cname.NAME": ["nat", "routed", "host-only"],
  "dhcp_option.NAME": ["nat", "routed", "host-only"],
  allow_users: ["nat", "routed", "host-only", "isolated", "bridge"],
  allow_groups: ["nat", "routed", "host-only", "isolated", "bridge"],
};

// Keys that stand for a family: the part before the first dot names it, the rest is the admin's.
const FAMILIES = ["host", "dns_srv", "dns_txt", "dns_cname", "dhcp_option"];

/** The spec name of a key as written: "host.web" → "host.NAME", "dhcp_option.42" → "dhcp_option.NAME",
 *  "tap.web0.rate" → "tap.NAME.rate". */
export function specName(key: string): string {
  const tap = /^tap\..+\.(port_isolation|rate)$/.exec(key);
  if (tap) return `tap.NAME.${tap[1]}`;
  const dot = key.indexOf(".");
  return dot > 0 && FAMILIES.includes(key.slice(0, dot)) ? `${key.slice(0, dot)}.NAME` : key;
}

/** The closest known key to KEY if it looks like a typo of it, else null. */
export function suggestKey(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDist = 3;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k);
    if (d < bestDist) [best, bestDist] = [k, d];
  }
  return best;
}

// Levenshtein distance; the inputs are short key names.
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Parse a yes/no value; null if it is neither. */
export function parseBool(v: string): boolean | null {
  if (/^(yes|true|on|1)$/i.test(v)) return true;
  if (/^(no|false|off|0)$/i.test(v)) return false;
  return null;
}
