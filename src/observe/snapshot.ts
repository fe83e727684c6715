// One observation of everything converging a network may look at, taken once before checking and deciding: the
// decisions and the checks are pure functions of it. On the warm path (network up, a new tap) it costs one process
// (the firewall's quick look); everything else is read from /sys, /proc and getifaddrs.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Exec } from "../host/exec.js";
import type { Config, Network } from "../config/types.js";
import { traits } from "../modes.js";
import { observeDnsmasq, type DnsmasqState } from "./dnsmasq-state.js";
import type { FirewallState } from "../firewall/choose-backend.js";
import { firewalldLookWanted, observeFirewalld, type FirewalldState } from "./firewalld-state.js";
import { dockerLookWanted, observeDockerUser, type DockerUserState } from "../firewall/docker.js";
import { firewallBackend } from "../firewall/choose-backend.js";
import { firewallRemaking } from "../firewall/up-down.js";
import { readAddresses, readLink, type Link } from "./links.js";
import { observeIpv6, observeOwnBridge6, type Ipv6Observed } from "./ipv6-state.js";
import { observeMode, type ModeObserved } from "./mode.js";
import { guestMac } from "./qemu-mac.js";
import { observeGuard, type GuardObserved } from "./guard-state.js";
import { csumSupported, hasCsumFilter } from "./csum-support.js";
import { procHasAddress, type Route } from "./routes.js";
import { readRoutes6, type Route6 } from "./routes6.js";
import { strayTaps } from "./strays.js";
import { observeTap, type TapFacts } from "./tap.js";
import { observeUplink, type UplinkState } from "./uplink-state.js";
import { moveMayBeUnfinished, readAlias } from "./uplink-move.js";
import { bridgeAlias } from "../core/names.js";
import { observeVxlan, type VxlanObserved } from "./vxlan-state.js";
import { observePorts, type PortsObserved } from "./ports-state.js";
import { renderDnsmasq } from "../render/dnsmasq-conf.js";
import { forwardPolicy } from "../render/policy.js";
import { bringsUp, detachTearsDown, tapOf, type Intent } from "../intent.js";
import { uplinkJournal } from "../core/names.js";
import { observeResolved, resolvedLookWanted, type ResolvedState } from "./resolved-state.js";

/** The interfaces and routes a network's checks look at: read from /sys and /proc (one `ip` only for a tap that
 *  is not running, see observeTap), so `kvmnet check` and `doctor` take it for every network at no cost. */
export interface HostView {
  /** The main routing table (IPv4). */
  routes: Route[];
  bridge: Link | null;
  /** The tap the intent names (null: none named, or no such interface). */
  tap: Link | null;
  /** Attaching an existing tap: its addresses and MTU limit. */
  tapFacts: TapFacts | null;
  /** Attaching to a network with guard = yes: the guest's MAC, from the parent QEMU's command line. */
  guestMac: string | null;
  /** The `uplink` NIC, when one is configured. */
  uplink: Link | null;
  mode: ModeObserved;
  /** A network across hosts: its underlay interface (vxlan_dev). */
  underlay?: Link | null;
  /** Networks with address6: the host's IPv6 routes. */
  routes6?: Route6[];
  /** The host's name (uname): on a member host of a network across hosts, it goes into the bridge's MAC. Read only
   *  for such a network ("" for the others, whose bridge MAC takes no host name). */
  hostName: string;
}

/** The host as far as one network is concerned. */
export interface Snapshot extends HostView {
  /** IPv4 addresses (CIDR) on the bridge. */
  bridgeAddrs: string[];
  /** With `mtu` set: the MTU of each port of the bridge (one sysfs read each). */
  portMtus: Record<string, number>;
  forwarding: boolean;
  /** The DHCP checksum fix-up: whether the kernel can carry it, and (kvmnet up, plan, status, on a bridge that
   *  exists) whether the bridge has it; null when not looked at (a hook makes it with the bridge). */
  csum: { supported: boolean; has: boolean | null };
  /** Networks with address6: the host's IPv6 (null otherwise, or when the host has no IPv6). */
  ipv6: Ipv6Observed | null;
  /** kvmnet's own bridge with IPv6 on: the IPv6 addresses kvmnet put there (a removed address6 must go). */
  bridgeOwn6?: string[];
  /** null when the network needs no rules, or when a detach leaves it up (nothing is decided from them then). */
  firewall: FirewallState | null;
  /** Bridge mode (no firewall state of its own): Docker's DOCKER-USER chains, when looked at. */
  docker?: DockerUserState | null;
  /** firewalld's zones for the bridge, when it runs and is looked at (src/observe/firewalld-state.ts). */
  firewalld?: FirewalldState | null;
  /** null when the network runs no DHCP. */
  dnsmasq: DnsmasqState | null;
  /** When the bridge is missing: running taps matching the network's globs that are on no bridge. */
  strays: Link[];
  /** Bringing up a bridge network whose bridge is missing, to be built over its uplink: the NIC's addresses and
   *  routes that move onto the bridge (three `ip` processes, on that cold path only). */
  uplinkState: UplinkState | null;
  /** Bringing up a bridge network whose bridge kvmnet built over the uplink, when that move looks unfinished (see
   *  moveMayBeUnfinished): the bridge's own addresses and routes, uplinkState the NIC's. Absent or null otherwise. */
  builtBridge?: UplinkState | null;
  /** The undo batch of a move of the uplink that a killed run left unfinished (null: none). */
  journal: string | null;
  /** A network across hosts: its VXLAN device, flood entries and guard (src/observe/vxlan-state.ts). */
  vxlan?: VxlanObserved | null;
  /** guard = yes: its records and (converging to up) its table; null for a network without the guard. */
  guard?: GuardObserved | null;
  /** The VM ports' isolation flags and limits (src/observe/ports-state.ts); null: not looked at. */
  ports?: PortsObserved | null;
  /** systemd-resolved's settings of the bridge, when it runs and is looked at (src/observe/resolved-state.ts). */
  resolved?: ResolvedState | null;
}

/** What the decisions of src/decide/ read of a snapshot. */
export type Observed = Pick<
  Snapshot,
  | "bridge"
  | "bridgeAddrs"
  | "portMtus"
  | "csum"
  | "tap"
  | "forwarding"
  | "ipv6"
  | "bridgeOwn6"
  | "firewall"
  | "docker"
  | "firewalld"
  | "dnsmasq"
  | "strays"
  | "mode"
  | "vxlan"
  | "ports"
  | "resolved"
  | "hostName"
>;

/** Read the interfaces and routes NET's checks look at (ROUTES: the routing table, read once by the caller). */
export function observeHost(
  exec: Exec,
  net: Network,
  intent: Intent,
  routes: Route[],
  tapFacts?: TapFacts | null,
): HostView {
  const tapName = tapOf(intent);
  const tap = tapName ? readLink(tapName) : null;
  return {
    routes,
    bridge: readLink(net.bridge),
    tap,
    tapFacts: intent.action === "attach" && tap ? (tapFacts ?? observeTap(exec, tap.name, net.mtu)) : null,
    guestMac: intent.action === "attach" && tap && net.guard ? (intent.mac ?? guestMac(tap.name, intent.parent)) : null,
    uplink: net.uplink ? readLink(net.uplink) : null,
    mode: observeMode(net),
    ...(net.vxlan ? { underlay: readLink(net.vxlan.dev) } : {}),
    ...(net.address6 ? { routes6: readRoutes6() } : {}),
    hostName: net.memberOf ? hostname() : "",
  };
}

/** Observe everything converging NET towards INTENT may look at. TAPFACTS: the tap's addresses and MTU limit as
 *  already read by this run (the VM's tap is QEMU's, not changed by another kvmnet run meanwhile). */
export function observe(
  exec: Exec,
  config: Config,
  net: Network,
  intent: Intent,
  routes: Route[],
  tapFacts?: TapFacts | null,
): Snapshot {
  const host = observeHost(exec, net, intent, routes, tapFacts);
  const { bridge, uplink } = host;
  const overUplink = bringsUp(intent) && traits(net).uplink === "port" && !net.vlan && !!net.uplink;
  const building = overUplink && !bridge;
  const journal = traits(net).uplink === "port" && net.uplink ? readJournal(uplinkJournal(config, net)) : null;
  // With a journal the move was cut off for sure: kvmnet's bridge is looked at whole (whatever the quick look says).
  const ours = (b: Link) => (journal !== null ? readAlias(b.name) === bridgeAlias(net) : false);
  const finishing =
    overUplink && !!bridge && !!uplink && (ours(bridge) || moveMayBeUnfinished(net, bridge, uplink, routes));
  const snap: Snapshot = {
    ...host,
    bridgeAddrs: bridgeAddresses(net, bridge, routes),
    portMtus: net.mtu && bridge ? portMtus(bridge.ports) : {},
    csum: csumLook(exec, config, net, intent, bridge),
    forwarding: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1",
    ipv6: observeIpv6(config, net),
    bridgeOwn6: observeOwnBridge6(net, !!bridge && traits(net).ownBridge && host.mode.bridgeIpv6Off === false),
    // Where Docker's chains are looked at (up, down, a first or last hook), the firewall look is thorough too. A
    // VM's stop that leaves the network up decides nothing from the rules: no look (one process fewer).
    firewall:
      forwardPolicy(net) && tearsDown(net, intent, bridge)
        ? firewallBackend(config.firewall).observe(exec, net, dockerLookWanted(net, intent, bridge))
        : null,
    docker: !forwardPolicy(net) && dockerLookWanted(net, intent, bridge) ? observeDockerUser(exec) : null,
    dnsmasq: renderDnsmasq(config, net) ? observeDnsmasq(config, net, exec) : null,
    strays: bridge || !traits(net).ownBridge ? [] : strayTaps(config, net),
    uplinkState: (building || finishing) && uplink ? observeUplink(exec, uplink.name) : null,
    builtBridge: finishing && bridge ? observeUplink(exec, bridge.name) : null,
    journal,
    vxlan: observeVxlan(exec, net, intent),
    // The table is looked at only converging to up: a hook writes its tap's chain whole without looking.
    guard: observeGuard(exec, config, net, intent.action === "up", host.hostName),
    ports: observePorts(exec, net, intent, bridge, host.tap),
    resolved: resolvedLookWanted(config, net, intent, bridge) ? observeResolved(exec, net, bridge) : null,
  };
  const remaking = firewallRemaking(snap.firewall);
  snap.firewalld = firewalldLookWanted(net, intent, bridge, remaking) ? observeFirewalld(exec, net) : null;
  return snap;
}

// Whether INTENT may take NET down (all but a detach that leaves VMs on the bridge, or a network that stays up).
function tearsDown(net: Network, intent: Intent, bridge: Link | null): boolean {
  return intent.action !== "detach" || detachTearsDown(net, bridge?.ports ?? [], intent.tap);
}

// getifaddrs omits a bridge without carrier (all its taps down): then /proc tells whether it has NET's address.
function bridgeAddresses(net: Network, bridge: Link | null, routes: Route[]): string[] {
  if (!bridge) return [];
  const addrs = readAddresses().get(net.bridge) ?? [];
  const a = net.address;
  if (a && !addrs.includes(`${a.address}/${a.prefix}`) && procHasAddress(net.bridge, a.address, a.prefix, routes)) {
    addrs.push(`${a.address}/${a.prefix}`);
  }
  return addrs;
}

// The checksum fix-up is made with the bridge; an existing bridge is looked at only when converging to up.
function csumLook(exec: Exec, config: Config, net: Network, intent: Intent, bridge: Link | null) {
  const dhcp = renderDnsmasq(config, net) !== null && traits(net).ownBridge;
  // Only where it is used (a bridge to make, or kvmnet up): no file read on a hook's warm path.
  const supported = dhcp && (!bridge || intent.action === "up") && csumSupported();
  const has = supported && bridge && intent.action === "up" ? hasCsumFilter(exec, net.bridge) : null;
  return { supported, has };
}

function portMtus(ports: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of ports) {
    try {
      out[p] = Number(readFileSync(`/sys/class/net/${p}/mtu`, "utf8"));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function readJournal(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
