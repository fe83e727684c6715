// Checks made before anything changes, as pure functions of (config, network, what was observed): a wrong TAP, a
// subnet the host already routes, a bridge that is no bridge, a NIC kvmnet may not use. Shared by the hooks,
// `kvmnet up/down/plan`, `check` and `doctor`.
import type { Config, Network } from "../config/types.js";
import { dnsmasqRefusal } from "../decide/dnsmasq.js";
import { tftpRefusal } from "../decide/tftp.js";
import { ConfigError, UsageError, type ConfigProblem, type KvmnetError } from "../errors.js";
import { overlaps, subnetOf } from "../ipv4.js";
import { overlaps6, subnetOf6 } from "../ipv6.js";
import { traits } from "../modes.js";
import { badName } from "../core/ifname.js";
import { defaultRouteProblem, type DefaultRoute } from "../observe/default-route.js";
import { bringsUp, type Intent } from "../intent.js";
import type { HostView, Snapshot } from "../observe/snapshot.js";
import { hostPorts, vlanPortName } from "../core/names.js";

/** Why TAP is not an interface name a hook may be given (checked before anything is read). */
export function tapNameRefusal(tap: string): UsageError | null {
  const why = badName(tap);
  return why ? new UsageError(`TAP ${why}`) : null;
}

/** Refuse the TAP of an attach or detach when it is missing (attaching), a bridge, any network's bridge, uplink or
 *  trunk, or (attaching) one that holds an address (whatever its link state: a NIC without carrier or admin-down
 *  still holds the host's subnet) or cannot take NET's MTU. */
export function tapRefusal(config: Config, net: Network, intent: Intent, view: HostView): KvmnetError | null {
  if (intent.action !== "attach" && intent.action !== "detach") return null;
  const tap = intent.tap;
  const link = view.tap;
  if (!link) {
    return intent.action === "attach"
      ? new UsageError(`TAP ${tap} does not exist (QEMU creates it before running the script; check ifname=)`)
      : null;
  }
  const refuse = (what: string) =>
    new UsageError(`refusing ${tap}: it ${what}; a hook is given the VM's tap, never a host interface`);
  if (link.isBridge) return refuse("is a bridge");
  for (const n of config.networks) {
    if (n.bridge === tap) return refuse(`is the bridge of network ${n.name}`);
    if (n.uplink === tap) return refuse(`is the uplink of network ${n.name}`);
    if (n.trunk === tap || (n.trunk && tap === vlanPortName(n))) return refuse(`is the trunk of network ${n.name}`);
  }
  const facts = view.tapFacts;
  if (intent.action === "detach" || !facts) return null; // detaching a port of our bridge is always safe
  if (net.guard && !view.guestMac) {
    return new UsageError(
      `network ${net.name} has guard = yes, and the guest's MAC for ${tap} is not in the parent QEMU's command line ` +
        `(-netdev tap,id=ID,ifname=${tap} with -device DRIVER,netdev=ID,mac=MAC, or -nic tap,ifname=${tap},mac=MAC); ` +
        "give the NIC a mac= (libvirt runs scripts itself: use its nwfilter clean-traffic there)",
    );
  }
  if (facts.addresses.length) return refuse(`carries the address ${facts.addresses.join(", ")}`);
  if (net.mtu && facts.maxMtu !== null && net.mtu > facts.maxMtu) {
    const message = `${net.mtu} is more than ${tap} takes (at most ${facts.maxMtu}); choose mtu = ${facts.maxMtu} or less`;
    return new ConfigError([{ file: config.file, line: net.lines.mtu ?? 0, key: "mtu", message }]);
  }
  return null;
}

/** Problems that stop NET from coming up: its subnet routed through another interface, its bridge no bridge, a
 *  missing uplink, and bridge mode's own (see bridgeModeProblems). DR: the default route, for `@default-route`. */
export function networkProblems(config: Config, net: Network, view: HostView, dr?: DefaultRoute): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const bad = (key: string, message: string) =>
    out.push({ file: config.file, line: net.lines[key] ?? net.lines["[section]"] ?? 0, key, message });
  const drProblem = dr && defaultRouteProblem(config, net, dr);
  if (drProblem) return [drProblem];
  if (net.address) {
    const a = net.address;
    const clash = view.routes.find((r) => r.dest.prefix > 0 && r.dev !== net.bridge && overlaps(r.dest, a));
    if (clash) {
      const via = clash.gateway ? ` via ${clash.gateway}` : "";
      bad(
        "address",
        `subnet ${subnetOf(a)} collides with the host's route ${clash.dest.address}/${clash.dest.prefix} dev ${clash.dev}${via}: choose a free subnet`,
      );
    }
  }
  if (net.address6) {
    const a = net.address6;
    const clash = view.routes6?.find((r) => r.dev !== net.bridge && overlaps6(r.dest, a));
    if (clash) {
      const via = clash.gateway ? ` via ${clash.gateway}` : "";
      bad(
        "address6",
        `prefix ${subnetOf6(a)} collides with the host's route ${clash.dest.address}/${clash.dest.prefix} dev ${clash.dev}${via}: choose a free prefix`,
      );
    }
  }
  if (view.bridge && !view.bridge.isBridge) bad("bridge", `${net.bridge} exists and is not a bridge`);
  if (net.uplink && traits(net).uplink === "egress" && !view.uplink)
    bad("uplink", `no interface ${net.uplink} on this host`);
  if (net.vxlan && !view.underlay)
    bad("vxlan_dev", `no interface ${net.vxlan.dev} on this host (the VXLAN's underlay)`);
  out.push(...bridgeModeProblems(config, net, view));
  return out;
}

/** A bridge-mode network's problems: the bridge is there or can be built over a NIC kvmnet may use, and an
 *  existing TRUNK.VID is the VLAN it should be. */
function bridgeModeProblems(config: Config, net: Network, view: HostView): ConfigProblem[] {
  if (traits(net).ownBridge || (view.bridge && !view.bridge.isBridge)) return [];
  const out: ConfigProblem[] = [];
  const bad = (key: string, message: string) =>
    out.push({ file: config.file, line: net.lines[key] ?? net.lines["[section]"] ?? 0, key, message });
  if (net.vlan !== undefined) {
    const sub = vlanPortName(net);
    const { trunk, vlanPort: port } = view.mode;
    if (!trunk) bad("trunk", `no interface ${net.trunk} on this host`);
    else if (trunk.isBridge) bad("trunk", `${net.trunk} is a bridge; name the NIC that carries the tagged frames`);
    if (port && (port.vid !== net.vlan || port.lower !== net.trunk))
      bad("vlan", `${sub} exists but is not VLAN ${net.vlan} of ${net.trunk}`);
    else if (port?.link.master && port.link.master !== net.bridge)
      bad("vlan", `${sub} is already a port of ${port.link.master}`);
    return out;
  }
  if (view.bridge) return out;
  if (!net.uplink) {
    bad(
      "bridge",
      `${net.bridge} does not exist: create it (e.g. in /etc/network/interfaces), or set uplink = NIC to have kvmnet build it over that NIC`,
    );
    return out;
  }
  const uplink = view.uplink;
  if (!uplink) bad("uplink", `no interface ${net.uplink} on this host`);
  else if (uplink.isBridge)
    bad("uplink", `${net.uplink} is itself a bridge: say bridge = ${net.uplink} to attach to it`);
  else if (uplink.master) bad("uplink", `${net.uplink} is already a port of ${uplink.master}`);
  else if (net.uplink === "lo") bad("uplink", "lo cannot be bridged");
  return out;
}

/** Why converging NET towards INTENT must not start, from the interfaces and routes alone: the tap, then (bringing
 *  up) the network's problems. */
export function preflightHost(config: Config, net: Network, intent: Intent, view: HostView): KvmnetError | null {
  const tap = tapRefusal(config, net, intent, view);
  if (tap) return tap;
  if (intent.action !== "up" && intent.action !== "attach") return null;
  const problems = networkProblems(config, net, view);
  return problems.length ? new ConfigError(problems) : null;
}

/** Why converging NET towards INTENT must not start, or null: preflightHost's reasons, then dnsmasq's (it could not
 *  read its static leases), and VMs still attached (taking down without force). */
export function preflight(config: Config, net: Network, snap: Snapshot, intent: Intent): KvmnetError | null {
  const host = preflightHost(config, net, intent, snap);
  if (host) return host;
  const dns = bringsUp(intent)
    ? (dnsmasqRefusal(config, net, snap.dnsmasq) ?? tftpRefusal(config, net, snap.dnsmasq))
    : null;
  if (dns) return new ConfigError([dns]);
  if (intent.action === "down" && !intent.force) {
    const busy = guestPorts(net, snap.bridge?.ports ?? []);
    if (busy.length) {
      return new UsageError(
        `down: network ${net.name} still has VM ports on ${net.bridge}: ${busy.join(", ")}\n` +
          "stop those VMs first, or use --force to cut them off; nothing was changed",
      );
    }
  }
  return null;
}

/** Ports of NET's bridge that are not the host's own uplink or trunk: the VMs' taps. */
export function guestPorts(net: Network, ports: string[]): string[] {
  const host = hostPorts(net);
  return ports.filter((p) => !host.includes(p));
}
