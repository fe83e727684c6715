// Checks made before anything changes: a wrong TAP or a subnet the host already routes stops the hook.
import type { Config, Network } from "../config/types.js";
import { ConfigError, UsageError } from "../errors.js";
import { overlaps, subnetOf } from "../ipv4.js";
import { badName } from "../names.js";
import type { Exec } from "../apply/exec.js";
import { readLink } from "../observe/links.js";
import { observeTap } from "../observe/tap.js";
import { readRoutes, type Route } from "../observe/routes.js";
import { bridgeModeProblems } from "./bridge-mode.js";

/** Refuse a TAP that is missing (when it must exist), misnamed, one of the host's own interfaces (whatever
 *  its link state: a NIC without carrier or admin-down still holds the host's subnet), or one that cannot
 *  take NET's MTU. NET is given when the TAP is to be attached. */
export function checkTap(config: Config, tap: string, mustExist: boolean, exec: Exec, net?: Network): void {
  const why = badName(tap);
  if (why) throw new UsageError(`TAP ${why}`);
  const link = readLink(tap);
  if (!link) {
    if (mustExist)
      throw new UsageError(`TAP ${tap} does not exist (QEMU creates it before running the script; check ifname=)`);
    return;
  }
  const refuse = (what: string) => {
    throw new UsageError(`refusing ${tap}: it ${what}; a hook is given the VM's tap, never a host interface`);
  };
  if (link.isBridge) refuse("is a bridge");
  for (const n of config.networks) {
    if (n.bridge === tap) refuse(`is the bridge of network ${n.name}`);
    if (n.uplink === tap) refuse(`is the uplink of network ${n.name}`);
    if (n.trunk === tap || (n.trunk && n.vlan && tap === `${n.trunk}.${n.vlan}`))
      refuse(`is the trunk of network ${n.name}`);
  }
  if (!mustExist) return; // going down: detaching a port of our bridge is always safe
  const facts = observeTap(exec, tap, net?.mtu);
  if (facts.addresses.length) refuse(`carries the address ${facts.addresses.join(", ")}`);
  if (net?.mtu && facts.maxMtu !== null && net.mtu > facts.maxMtu) {
    throw new ConfigError([
      {
        file: config.file,
        line: net.lines.mtu ?? 0,
        key: "mtu",
        message: `${net.mtu} is more than ${tap} takes (at most ${facts.maxMtu}); choose mtu = ${facts.maxMtu} or less`,
      },
    ]);
  }
}

/** Refuse a network whose subnet the host routes through another interface, or whose bridge is no bridge. */
export function checkNetwork(config: Config, net: Network, routes: Route[] = readRoutes()): void {
  const problems = networkProblems(config, net, routes);
  if (problems.length) throw new ConfigError(problems);
}

/** The problems checkNetwork would raise, for `kvmnet check` to list them all. */
export function networkProblems(config: Config, net: Network, routes: Route[]) {
  const out = [];
  const at = (key: string) => net.lines[key] ?? net.lines["[section]"] ?? 0;
  if (net.address) {
    const clash = routes.find((r) => r.dest.prefix > 0 && r.dev !== net.bridge && overlaps(r.dest, net.address!));
    if (clash) {
      out.push({
        file: config.file,
        line: at("address"),
        key: "address",
        message: `subnet ${subnetOf(net.address)} collides with the host's route ${clash.dest.address}/${clash.dest.prefix} dev ${clash.dev}${clash.gateway ? ` via ${clash.gateway}` : ""}: choose a free subnet`,
      });
    }
  }
  const br = readLink(net.bridge);
  if (br && !br.isBridge)
    out.push({
      file: config.file,
      line: at("bridge"),
      key: "bridge",
      message: `${net.bridge} exists and is not a bridge`,
    });
  if (net.uplink && net.mode !== "bridge" && !readLink(net.uplink)) {
    out.push({
      file: config.file,
      line: at("uplink"),
      key: "uplink",
      message: `no interface ${net.uplink} on this host`,
    });
  }
  out.push(...bridgeModeProblems(config, net, routes));
  return out;
}
