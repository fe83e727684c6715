// Names and paths of everything kvmnet creates for a network: one place, so teardown finds exactly these.
import { hostname } from "node:os";
import type { Config, Network, VlanBridgeNetwork, Vxlan } from "../config/types.js";
import { traits } from "../modes.js";
import { sha256 } from "./sha256.js";

/** The one nft table kvmnet owns for every network (family inet: IPv6 can join it later). */
export const NFT_TABLE = "kvmnet";

/** The table a network had before the shared table (kvmnet <= 0.1): removed when the network next comes up. */
export function oldNftTable(net: Network): string {
  return `kvmnet-${net.name}`;
}

/** The shared table's verdict maps, each keyed by what its base chain dispatches on. */
export const NFT_MAPS = {
  input: "in_iif",
  from: "fwd_iif",
  to: "fwd_oif",
  nat: "nat_saddr",
  nat6: "nat6_saddr",
  publish: "publish",
} as const;

/** The shared chain every network's forward chains end in: it rejects, and while any network's chain jumps to it,
 *  the kernel refuses to delete it, which is how the last network's teardown knows it may delete the table. */
export const NFT_REJECT = "guest-reject";

/** A network's own chains in the shared table. The role comes first: a chain name must start with a letter, and
 *  no role is a prefix of another, so no two networks' chain names can collide. */
export function nftChains(net: Network) {
  return {
    input: `input-${net.name}`,
    from: `from-${net.name}`,
    to: `to-${net.name}`,
    nat: `nat-${net.name}`,
    publish: `publish-${net.name}`,
  };
}

/** Prefix of every network's forward-in chain (iptables): what may enter its bridge. */
export const FORWARD_IN_PREFIX = "KVMNET-FWI-";

/** Prefix of every network's forward-out chain (iptables): what may leave its bridge. */
export const FORWARD_OUT_PREFIX = "KVMNET-FWO-";

/** iptables chains of a network: input, forward-in (to the bridge), forward-out (from it), postrouting. Before
 *  the dispatch chains (kvmnet <= 0.1) the built-in chains jumped to these directly. */
export function iptablesChains(net: Network) {
  return {
    input: `KVMNET-INP-${net.name}`,
    forwardIn: `${FORWARD_IN_PREFIX}${net.name}`,
    forwardOut: `${FORWARD_OUT_PREFIX}${net.name}`,
    postrouting: `KVMNET-PRT-${net.name}`,
  };
}

/** kvmnet's shared iptables chains: one jump from each built-in chain, then dispatch by interface (or source). */
export const IPT = {
  input: "KVMNET-INPUT",
  forward: "KVMNET-FORWARD",
  /** forward dispatch by input interface, to each network's forward-out chain */
  from: "KVMNET-FROM",
  /** forward dispatch by output interface, to each network's forward-in chain */
  to: "KVMNET-TO",
  /** allowed out of a network's bridge: the destination's network decides, if it is one of kvmnet's */
  pass: "KVMNET-PASS",
  postrouting: "KVMNET-POSTROUTING",
} as const;

/** The fixed MAC address of a bridge kvmnet creates: locally administered, derived from the network name.
 *  It also marks the bridge as kvmnet's: it is set in the same netlink message that creates the bridge. */
export function bridgeMac(net: Network): string {
  // A member host's bridge of a network across hosts is on the gateway's segment: its MAC must not be the
  // gateway's (frames for the gateway would stop at the member), so the host's name goes in.
  const member = net.memberOf ? `@${hostname()}` : "";
  const h = sha256(`kvmnet:${net.name}${member}`);
  return ["02", "6b", "76", h[0]!, h[1]!, h[2]!]
    .map((b) => (typeof b === "number" ? b.toString(16).padStart(2, "0") : b))
    .join(":");
}

/** The alias kvmnet writes on bridges it created, for humans reading `ip -d link`. */
export function bridgeAlias(net: Network): string {
  return `kvmnet:${net.name}`;
}

/** Files of a network's dnsmasq. */
export function dnsmasqFiles(config: Config, net: Network) {
  const s = `${config.stateDir}/${net.name}`;
  return {
    conf: `${s}.dnsmasq.conf`,
    // Written by kvmnet (root's), not by dnsmasq: the daemon's pid, and the ifindex of the bridge it serves.
    pid: `${s}.dnsmasq.pid`,
    ifindex: `${s}.dnsmasq.ifindex`,
    hosts: `${s}.hostsfile`,
    addnHosts: `${s}.addnhosts`,
    // The dhcp_option keys: dnsmasq re-reads this file on SIGHUP, so changing an option needs no restart.
    opts: `${s}.dhcpopts`,
    // dnsmasq's dhcp-script with guard = yes: a root-owned wrapper that runs kvmnet on each lease event.
    leaseEvent: `${s}.lease-event`,
    leases: `${config.leaseDir}/${net.name}.leases`,
  };
}

/** The name of NET's VLAN sub-interface (TRUNK.VID), or null for a network without VLAN. */
export function vlanPortName(net: Network): string | null {
  return net.vlan !== undefined ? vlanPortOf(net) : null;
}

/** The VLAN sub-interface TRUNK.VID of a VLAN network. */
export function vlanPortOf(net: VlanBridgeNetwork): string {
  return `${net.trunk}.${net.vlan}`;
}

/** The VXLAN device of VNI ID: `vx` + the VNI (at most 10 characters). */
export function vxlanDevName(vx: Pick<Vxlan, "id">): string {
  return `vx${vx.id}`;
}

/** Ports of NET's bridge that belong to the host (uplink, TRUNK.VID), not to VMs. */
export function hostPorts(net: Network): string[] {
  const sub = vlanPortName(net);
  const vx = net.vxlan ? [vxlanDevName(net.vxlan)] : [];
  return [...(traits(net).uplink === "port" && net.uplink ? [net.uplink] : []), ...(sub ? [sub] : []), ...vx];
}

/** Path of NET's uplink-move journal: written before the move's batch, removed after it. */
export function uplinkJournal(config: Config, net: Network): string {
  return `${config.stateDir}/${net.name}.uplink-move`;
}

/** The tc filter preference kvmnet's checksum filter has on a bridge's egress (68: the DHCP client port). */
export const CSUM_PREF = 68;

/** The value of `bridge` that means "the bridge carrying the default route". */
export const DEFAULT_ROUTE_BRIDGE = "@default-route";

/** The guard's records (guard = yes), so that its table can be rebuilt after a flush: which tap has which guest
 *  MAC (written by the hooks), and the MAC . IPv4 pairs dnsmasq's leases gave (written by the lease events). */
export function guardFiles(config: Config, net: Network) {
  const s = `${config.stateDir}/${net.name}`;
  return { taps: `${s}.guard-taps`, leases: `${s}.guard-leases` };
}
