// The keys a config file may hold, the trait a mode needs to take each, and how to suggest the key a typo meant.
import { modesWith, type KeyTrait } from "../modes.js";
import type { Mode } from "./types.js";

/** Keys of `[global]`. */
export const GLOBAL_KEYS = ["firewall", "state_dir", "lease_dir"] as const;

/** Keys of a network section, each with the trait a mode needs to take it (null: every mode takes it; see
 *  src/modes.ts). "host.NAME" stands for every static lease. The modes per key are computed: modesTaking. */
export const NETWORK_KEYS: Record<string, KeyTrait | null> = {
  mode: null,
  bridge: null,
  address: "address",
  dhcp_range: "dhcp",
  address6: "dhcp",
  dhcp6_range: "dhcp",
  uplink: "uplink",
  snat_to: "nat",
  publish: "nat",
  guard: "dhcp",
  "host.NAME": "dhcp",
  taps: null,
  default: null,
  mtu: null,
  teardown: null,
  autostart: null,
  vlan: "vlan",
  trunk: "vlan",
  domain: "dhcp",
  vxlan_id: "ownBridge",
  vxlan_dev: "ownBridge",
  vxlan_peers: "ownBridge",
  vxlan_port: "ownBridge",
  vxlan_local: "ownBridge",
  evpn: "ownBridge",
  evpn_asn: "ownBridge",
  role: "address",
  port_isolation: "ownBridge",
  rate: "ownBridge",
  "tap.NAME.port_isolation": "ownBridge",
  "tap.NAME.rate": "ownBridge",
  dns: "dhcp",
  tftp_root: "dhcp",
  boot_file: "dhcp",
  boot_file_efi: "dhcp",
  boot_file_ipxe: "dhcp",
  boot_server: "dhcp",
  dns_forwarders: "dhcp",
  "dns_srv.NAME": "dhcp",
  "dns_txt.NAME": "dhcp",
  "dns_cname.NAME": "dhcp",
  "dhcp_option.NAME": "dhcp",
};

/** The modes that take the key SPEC (a name of NETWORK_KEYS), in the contract's order. */
export function modesTaking(spec: string): readonly Mode[] {
  return modesWith(NETWORK_KEYS[spec] ?? null);
}

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
