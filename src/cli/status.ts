// `kvmnet status`: what each configured network is on this host right now, gathered into plain data.
import { readFileSync } from "node:fs";
import { realExec, type Exec } from "../host/exec.js";
import type { Config, Network } from "../config/types.js";
import { isOurBridge } from "../decide/bridge.js";
import { dnsmasqUpSteps, isStale } from "../decide/dnsmasq-steps.js";
import { firewallBackend } from "../firewall/choose-backend.js";
import { firewallAbsent, firewallOldLayout, firewallUpSteps } from "../firewall/up-down.js";
import { describeUnreadable } from "../observe/dnsmasq-access.js";
import { dnsBootStatus } from "./status-dns.js";
import type { DnsmasqState } from "../observe/dnsmasq-state.js";
import { readLink } from "../observe/links.js";
import { look } from "../converge/converge.js";
import type { Snapshot as Observed } from "../observe/snapshot.js";
import { bridgeAlias, dnsmasqFiles } from "../core/names.js";
import { readLeases, type Lease } from "./leases.js";
import { vxlanStatus, type VxlanStatus } from "./status-vxlan.js";
import { hostPorts } from "../core/names.js";
import { portPolicyStatus, type PortPolicyStatus } from "./status-ports.js";
import { traits } from "../modes.js";
import { tapOwners, type TapOwner } from "./tap-owner.js";

/** One port of a bridge. */
export interface PortStatus {
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** "uplink" and "trunk" are the host's own NIC on a bridge network; "vm" is anything else (a tap). */
  role: "vm" | "uplink" | "trunk" | "vxlan";
  /** A VM port of a network with its own bridge: its isolation flag and the limits in place (port_isolation, rate). */
  policy?: PortPolicyStatus | null;
  /** A tap an ordinary user owns (kvmnet-userd): whose it is. */
  owner?: TapOwner;
}

/** The state of one network, as `kvmnet status --json` prints it. */
export interface NetworkStatus {
  name: string;
  mode: Network["mode"];
  bridge: string;
  /** The bridge exists and is up. */
  up: boolean;
  /** Tap names (and uplink/trunk of a bridge network) on the bridge. */
  ports: string[];
  leases: Lease[];
  exists: boolean;
  createdByKvmnet: boolean;
  mac: string | null;
  mtu: number | null;
  address: string | null;
  addresses: string[];
  uplink: { name: string; present: boolean; up: boolean } | null;
  portDetails: PortStatus[];
  /** old-layout: kvmnet 0.1's table or chains of the network are there (working), replaced on the next up. */
  firewall: {
    backend: Config["firewall"];
    object: string;
    state: "in-place" | "old-layout" | "missing" | "outdated";
  } | null;
  /** stale: it serves a bridge that was deleted (and maybe made again); orphaned: it runs but kvmnet's record
   *  of its pid was lost. PROBLEMS: what it cannot do, such as read its static leases. */
  dnsmasq: {
    state: "running" | "stopped" | "outdated" | "stale" | "orphaned";
    pid: number | null;
    range: string;
    /** DNS on the bridge address (forwarders, records), or off with dns = no. */
    dns?: string;
    /** Network boot: the TFTP root or next-server, and the boot files. */
    boot?: string;
    problems?: string[];
  } | null;
  forwarding: boolean | null;
  /** Steps `kvmnet up` would take; 0 when the network is exactly as configured. */
  pending: number;
  /** A network across hosts: its VXLAN device and peers (src/cli/status-vxlan.ts). */
  vxlan?: VxlanStatus | null;
}

/** The status of NET, from one observation (at most one process: the firewall listing). A bridge given as
 *  `@default-route` is shown as the bridge it resolves to now. */
export function networkStatus(config: Config, configured: Network, exec: Exec = realExec): NetworkStatus {
  const { net, snapshot: obs, decision } = look(config, configured, { action: "up" }, exec);
  const br = obs.bridge;
  const host = hostPorts(net);
  const ports = br?.ports ?? [];
  const ownerOf = tapOwners(config.stateDir);
  const portDetails = ports.flatMap((name): PortStatus[] => {
    const l = readLink(name);
    if (!l) return [];
    const vx = net.vxlan && name === `vx${net.vxlan.id}`;
    const role = !host.includes(name)
      ? "vm"
      : vx
        ? "vxlan"
        : name === net.uplink && traits(net).uplink === "port"
          ? "uplink"
          : "trunk";
    const policy = role === "vm" ? portPolicyStatus(obs.ports, name) : null;
    const owner = role === "vm" ? ownerOf(name) : null;
    return [
      { name, mac: l.mac, mtu: l.mtu, up: l.up, role, ...(policy ? { policy } : {}), ...(owner ? { owner } : {}) },
    ];
  });
  const uplink = net.uplink ? readLink(net.uplink) : null;
  return {
    name: net.name,
    mode: net.mode,
    bridge: net.bridge,
    up: !!br?.up,
    ports,
    leases: obs.dnsmasq ? readLeases(dnsmasqFiles(config, net).leases) : [],
    exists: !!br,
    createdByKvmnet: !!br && (isOurBridge(net, br, obs.hostName) || aliasOf(net.bridge) === bridgeAlias(net)),
    mac: br?.mac ?? null,
    mtu: br?.mtu ?? null,
    address: net.address ? `${net.address.address}/${net.address.prefix}` : null,
    addresses: obs.bridgeAddrs,
    uplink: net.uplink ? { name: net.uplink, present: !!uplink, up: !!uplink?.up } : null,
    portDetails,
    firewall: firewallStatus(config, net, obs),
    dnsmasq: obs.dnsmasq && net.dhcpRange ? dnsmasqStatus(config, net, obs.dnsmasq) : null,
    forwarding: traits(net).forwarding ? obs.forwarding : null,
    pending: decision.steps.length,
    ...(net.vxlan ? { vxlan: vxlanStatus(net, obs.vxlan, exec) } : {}),
  };
}

function dnsmasqStatus(config: Config, net: Network, d: DnsmasqState): NonNullable<NetworkStatus["dnsmasq"]> {
  const state =
    d.pid === null
      ? d.orphans.length
        ? "orphaned"
        : "stopped"
      : isStale(d)
        ? "stale"
        : dnsmasqUpSteps(config, net, d).length
          ? "outdated"
          : "running";
  const problems: string[] = [];
  if (state === "stale") {
    problems.push(
      d.bridgeIfindex === null
        ? `it serves bridge ifindex ${d.ifindex ?? "?"}, and ${net.bridge} is gone: no guest gets a lease`
        : `it serves bridge ifindex ${d.ifindex ?? "?"}, and ${net.bridge} is now ifindex ${d.bridgeIfindex} (deleted and made again): no guest gets a lease`,
    );
  }
  if (state === "orphaned")
    problems.push(`pid ${d.orphans.join(", ")} runs with kvmnet's config, but its pid file was lost`);
  // Without static leases an unreadable (empty) hostsfile loses nothing.
  if (net.hosts.length)
    problems.push(...d.unreadable.map((u) => `${describeUnreadable(u)}: static leases and names are ignored`));
  const { problems: bootProblems, ...dnsBoot } = dnsBootStatus(config, net, d);
  problems.push(...bootProblems);
  return {
    state,
    pid: d.pid ?? d.orphans[0] ?? null,
    range: `${net.dhcpRange!.first}-${net.dhcpRange!.last}`,
    ...dnsBoot,
    problems,
  };
}

// kvmnet writes its alias on every bridge it makes, also on one built over an uplink (which keeps the NIC's MAC).
function aliasOf(dev: string): string {
  try {
    return readFileSync(`/sys/class/net/${dev}/ifalias`, "utf8").trim();
  } catch {
    return "";
  }
}

function firewallStatus(config: Config, net: Network, obs: Observed): NetworkStatus["firewall"] {
  const fw = obs.firewall;
  if (!fw) return null;
  const backend = firewallBackend(config.firewall);
  const state =
    firewallUpSteps(net, fw).length === 0
      ? "in-place"
      : firewallOldLayout(net, fw)
        ? "old-layout"
        : firewallAbsent(net, fw)
          ? "missing"
          : "outdated";
  return { backend: backend.name, object: backend.objects(net), state };
}
