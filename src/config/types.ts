// The validated configuration: what the rest of kvmnet works from. A network is a union by mode, so that what a
// mode has (an address, a VLAN trunk) is known to be there once the mode is known; what a mode lacks is declared
// absent (`?: undefined`), so code that reads any network (`net.uplink`) still type-checks. The fields come in
// groups, one per trait of src/modes.ts: a mode has a group or lacks it whole.
import type { Cidr } from "../ipv4.js";
import type { Cidr6 } from "../ipv6.js";

/** Network modes of the contract. */
export type Mode = "nat" | "routed" | "host-only" | "isolated" | "bridge";
/** All modes, in the order the contract lists them. */
export const MODES: readonly Mode[] = ["nat", "routed", "host-only", "isolated", "bridge"];

/** The values of `firewall =`: one backend each (src/firewall/). */
export const FIREWALLS = ["nftables", "iptables"] as const;
/** A `firewall =` value. */
export type Firewall = (typeof FIREWALLS)[number];

/** One published port: PROTO traffic to the host's PORT (on HOSTADDR only, when given) goes to TO:TOPORT. */
export interface Published {
  proto: "tcp" | "udp";
  hostAddr?: string;
  port: number;
  /** The guest's address, and the host.NAME it came from when given by name. */
  to: string;
  toName?: string;
  toPort: number;
}

/** A `host.NAME = MAC,IP` static lease. */
export interface StaticHost {
  name: string;
  mac: string;
  ip: string;
}

// The fields F declared absent (`?: undefined`): a network of a mode without their trait has none of them.
type Lacks<F> = { [P in keyof F]?: undefined };

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

/** Bandwidth limits of a tap in bits per second (null: none): DOWN the guest's download (the tap's egress), UP
 *  its upload (the tap's ingress). */
export interface Rate {
  down: number | null;
  up: number | null;
}

/** One tap's own `tap.NAME.port_isolation` and `tap.NAME.rate` (absent: the network's applies). */
export interface PortPolicy {
  isolated?: boolean;
  rate?: Rate;
}

/** A network's per-port policy (src/config/policy-keys.ts): its default for every tap, and each named tap's own. */
export interface Policy {
  isolated: boolean;
  rate: Rate | null;
  taps: Record<string, PortPolicy>;
}

/** One firewall rule (ACL) of a network, from `allow_in.NAME`, `deny_in.NAME`, `allow_out.NAME`, `deny_out.NAME`
 *  (src/config/acl.ts): connections opened into the guests (in) or by them (out). */
export interface AclRule {
  /** The key as written: "allow_in.ssh". */
  key: string;
  action: "allow" | "deny";
  dir: "in" | "out";
  /** Absent: any protocol. */
  proto?: "tcp" | "udp" | "icmp";
  /** Destination ports ("22", "8000-8100"); absent: every port. */
  ports?: string[];
  /** The other side: addresses or prefixes, or a network by name (its bridge and subnets, filled in once every
   *  network is read); absent: anywhere. */
  peer?: { addrs: string[]; net?: string; bridge?: string };
  /** This network's side: one guest address or prefix; absent: every guest. */
  guest?: string;
}

/** `allow_users` and `allow_groups`: names (or numeric ids) of users and groups (src/config/allow.ts). */
export interface Allow {
  users: string[];
  groups: string[];
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
  /** Port isolation and bandwidth limits (absent: no policy key is set). */
  policy?: Policy;
  /** Who besides root may attach VMs through kvmnet-userd (absent: root only). */
  allow?: Allow;
  /** Line of each key (and "[section]" for the header), for error messages. */
  lines: Record<string, number>;
}

/** The fields of a network where the host has an address on the bridge (trait `address`, src/modes.ts). */
interface AddressFields {
  address: Cidr;
  dhcpRange?: { first: string; last: string };
  /** The host's IPv6 address on the bridge (a /64): router advertisements, SLAAC, NAT66 or routing. */
  address6?: Cidr6;
  /** Stateful DHCPv6 beside SLAAC. */
  dhcp6Range?: { first: string; last: string };
  /** Per-VM anti-spoofing (see src/firewall/nft/guard.ts). */
  guard?: boolean;
  /** DNS domain of the guests' names (dnsmasq domain=, local=, expand-hosts; DHCP options 15 and 119). */
  domain?: string;
  /** DHCP only (dns = no), upstream forwarders, SRV/TXT/CNAME records (src/config/dns.ts). */
  dns?: DnsSettings;
  /** dhcp_option.NAME keys, in file order. */
  dhcpOptions?: DhcpOption[];
  /** Network boot: TFTP root, boot files per client architecture, next-server (src/config/tftp.ts). */
  boot?: NetBoot;
  /** Firewall rules (ACLs), in file order. */
  acl?: AclRule[];
}

/** The fields of a network whose guests' traffic is source-NATed (trait `nat`). */
interface NatFields {
  snatTo?: string;
  /** Host ports forwarded to guests (DNAT), reachable from outside, from the host and from the network's guests. */
  publish?: Published[];
}

/** The field of a network that takes an uplink (trait `uplink`: the way out, or the NIC under the bridge). */
interface UplinkField {
  uplink?: string;
}

/** The fields of a VLAN bridge (trait `vlan`): a bridge of its own over TRUNK.VLAN. */
interface VlanFields {
  vlan: number;
  trunk: string;
}

/** Guests reach the outside through source NAT. */
export interface NatNetwork extends Common, AddressFields, NatFields, UplinkField, Lacks<VlanFields> {
  mode: "nat";
}

/** Guests' subnet is routed, not translated. */
export interface RoutedNetwork extends Common, AddressFields, Lacks<NatFields>, UplinkField, Lacks<VlanFields> {
  mode: "routed";
}

/** Guests reach the host and each other, nothing beyond. */
export interface HostOnlyNetwork
  extends Common, AddressFields, Lacks<NatFields>, Lacks<UplinkField>, Lacks<VlanFields> {
  mode: "host-only";
}

/** Guests reach each other only. */
export interface IsolatedNetwork
  extends Common, Lacks<AddressFields>, Lacks<NatFields>, Lacks<UplinkField>, Lacks<VlanFields> {
  mode: "isolated";
}

/** Guests on the host's own segment: an existing bridge, one kvmnet builds over UPLINK, or a VLAN bridge. */
export type BridgeNetwork = PlainBridgeNetwork | VlanBridgeNetwork;

interface BridgeCommon extends Common, Lacks<AddressFields>, Lacks<NatFields> {
  mode: "bridge";
}

/** A bridge that exists, or that kvmnet builds over UPLINK (moving the NIC's addresses onto it). */
export interface PlainBridgeNetwork extends BridgeCommon, UplinkField, Lacks<VlanFields> {}

/** A bridge of its own over TRUNK.VLAN. */
export interface VlanBridgeNetwork extends BridgeCommon, VlanFields, Lacks<UplinkField> {}

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

/** What a network's dnsmasq answers on port 53, beyond the guests' names. */
export interface DnsSettings {
  /** dns = no: DHCP only, nothing on port 53, no DNS server option unless dhcp_option.dns-server says one. */
  off: boolean;
  /** Upstream servers asked instead of the host's resolv.conf. */
  forwarders: string[];
  srv: { name: string; target: string; port: number; priority: number; weight: number }[];
  txt: { name: string; text: string }[];
  cname: { alias: string; target: string }[];
}

/** How a network's guests boot from the network. */
export interface NetBoot {
  /** Directory dnsmasq's TFTP serves (absent: the files are on boot_server). */
  root?: string;
  /** Boot file for BIOS PXE clients (and any other client without a file of its own). */
  file?: string;
  /** Boot file for UEFI x86-64 clients (DHCP client architecture 7 or 9). */
  efi?: string;
  /** Boot file for clients that are already iPXE (user class "iPXE"), so a chain-load does not loop. */
  ipxe?: string;
  /** The TFTP server the files are on (DHCP next-server), when it is not this host. */
  server?: string;
}

/** One DHCP option as dnsmasq's config writes it: `dhcp-option=SPEC,VALUE`. */
export interface DhcpOption {
  /** The option's number. */
  number: number;
  /** `option:ntp-server` for a named option, the number otherwise. */
  spec: string;
  /** The value as dnsmasq reads it (text in double quotes). */
  value: string;
}
