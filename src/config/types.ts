// The validated configuration: what the rest of kvmnet works from. A network is a union by mode, so that what a
// mode has (an address, a VLAN trunk) is known to be there once the mode is known; what a mode lacks is declared
// absent (`?: undefined`), so code that reads any network (`net.uplink`) still type-checks.
import type { Cidr } from "../ipv4.js";
import type { Cidr6 } from "../ipv6.js";
import type { Published } from "./publish.js";
import type { DnsSettings } from "./dns.js";
import type { DhcpOption } from "./dhcp-options.js";
import type { NetBoot } from "./tftp.js";

/** Network modes of the contract. */
export type Mode = "nat" | "routed" | "host-only" | "isolated" | "bridge";
/** All modes, in the order the contract lists them. */
export const MODES: readonly Mode[] = ["nat", "routed", "host-only", "isolated", "bridge"];

/** Firewall backends. */
export type Firewall = "nftables" | "iptables";

/** A `host.NAME = MAC,IP` static lease. */
export interface StaticHost {
  name: string;
  mac: string;
  ip: string;
}

type Absent<K extends string> = { [P in K]?: undefined };

/** One network across hosts: a VXLAN device under the bridge (see src/config/vxlan.ts). */
export interface Vxlan {
  /** The VNI, 1..16777215. */
  id: number;
  /** The underlay interface. */
  dev: string;
  /** UDP port (4789 unless set). */
  port: number;
  /** Static peers' underlay addresses (this host's own address among them is skipped); empty with evpn. */
  peers: string[];
  /** Peers learned by BGP EVPN through FRR instead of a static list. */
  evpn: boolean;
  /** This host's underlay address (vxlan_local); absent: the underlay's first address of the peers' family. */
  local?: string;
  /** evpn: the BGP AS of the host's FRR (evpn_asn). */
  asn?: number;
}

/** What every network has, whatever its mode. */
interface Common {
  name: string;
  bridge: string;
  /** Static leases (always empty where the mode runs no DHCP). */
  hosts: StaticHost[];
  taps: string[];
  isDefault: boolean;
  mtu?: number;
  teardown: "keep" | "when-idle";
  autostart: boolean;
  /** One network across hosts (vxlan_id). */
  vxlan?: Vxlan;
  /** With vxlan: gateway runs the network's address, DHCP and NAT/routing; a member only bridges. */
  role?: "gateway" | "member";
  /** Only on an isolated network: a member host of a nat, routed or host-only network across hosts (role = member)
   *  only bridges its guests onto the VXLAN, as an isolated network does; the hooks of MEMBEROF still serve it. */
  memberOf?: "nat" | "routed" | "host-only";
  /** Line of each key (and "[section]" for the header), for error messages. */
  lines: Record<string, number>;
}

/** A network where the host has an address on the bridge (nat, routed, host-only). */
interface Addressed extends Common {
  address: Cidr;
  dhcpRange?: { first: string; last: string };
  /** The host's IPv6 address on the bridge (a /64): router advertisements, SLAAC, NAT66 or routing. */
  address6?: Cidr6;
  /** Stateful DHCPv6 beside SLAAC. */
  dhcp6Range?: { first: string; last: string };
  /** Per-VM anti-spoofing (see src/render/guard.ts). */
  guard?: boolean;
  /** DNS domain of the guests' names (dnsmasq domain=, local=, expand-hosts; DHCP options 15 and 119). */
  domain?: string;
  /** DHCP only (dns = no), upstream forwarders, SRV/TXT/CNAME records (src/config/dns.ts). */
  dns?: DnsSettings;
  /** dhcp_option.NAME keys, in file order. */
  dhcpOptions?: DhcpOption[];
  /** Network boot: TFTP root, boot files per client architecture, next-server (src/config/tftp.ts). */
  boot?: NetBoot;
}

/** Guests reach the outside through source NAT. */
export interface NatNetwork extends Addressed, Absent<"vlan" | "trunk"> {
  mode: "nat";
  uplink?: string;
  snatTo?: string;
  /** Host ports forwarded to guests (DNAT), reachable from outside, from the host and from the network's guests. */
  publish?: Published[];
}

/** Guests' subnet is routed, not translated. */
export interface RoutedNetwork extends Addressed, Absent<"vlan" | "trunk" | "snatTo" | "publish"> {
  mode: "routed";
  uplink?: string;
}

/** Guests reach the host and each other, nothing beyond. */
export interface HostOnlyNetwork extends Addressed, Absent<"vlan" | "trunk" | "snatTo" | "publish" | "uplink"> {
  mode: "host-only";
}

/** Guests reach each other only. */
export interface IsolatedNetwork
  extends
    Common,
    Absent<
      | "address"
      | "dhcpRange"
      | "address6"
      | "dhcp6Range"
      | "guard"
      | "domain"
      | "dns"
      | "dhcpOptions"
      | "boot"
      | "vlan"
      | "trunk"
      | "snatTo"
      | "publish"
      | "uplink"
    > {
  mode: "isolated";
}

/** Guests on the host's own segment: an existing bridge, one kvmnet builds over UPLINK, or a VLAN bridge. */
export type BridgeNetwork = PlainBridgeNetwork | VlanBridgeNetwork;

interface BridgeCommon
  extends
    Common,
    Absent<
      | "address"
      | "dhcpRange"
      | "address6"
      | "dhcp6Range"
      | "guard"
      | "domain"
      | "dns"
      | "dhcpOptions"
      | "boot"
      | "snatTo"
      | "publish"
    > {
  mode: "bridge";
}

/** A bridge that exists, or that kvmnet builds over UPLINK (moving the NIC's addresses onto it). */
export interface PlainBridgeNetwork extends BridgeCommon, Absent<"vlan" | "trunk"> {
  uplink?: string;
}

/** A bridge of its own over TRUNK.VLAN. */
export interface VlanBridgeNetwork extends BridgeCommon, Absent<"uplink"> {
  vlan: number;
  trunk: string;
}

/** One `[section]` other than `[global]`. */
export type Network = NatNetwork | RoutedNetwork | HostOnlyNetwork | IsolatedNetwork | BridgeNetwork;

/** The whole file, validated. */
export interface Config {
  file: string;
  firewall: Firewall;
  stateDir: string;
  leaseDir: string;
  networks: Network[];
  /** Line of each `[global]` key, for error messages (absent: the key is not set, its default applies). */
  lines: Record<string, number>;
}
