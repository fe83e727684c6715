// Checks of a bridge-mode network made before anything changes: the bridge is there or can be built, the
// uplink or trunk is a NIC kvmnet may use, and an existing TRUNK.VID is the VLAN it should be.
import type { Config, Network } from "../config/types.js";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { DEFAULT_ROUTE_BRIDGE, resolveBridge } from "../observe/default-route.js";
import { readLink } from "../observe/links.js";
import { readVlanPort, vlanPortName } from "../observe/mode.js";
import type { Route } from "../observe/routes.js";

/** Problems that stop a bridge-mode network from coming up; [] for other modes or when all is well. */
export function bridgeModeProblems(config: Config, net: Network, routes: Route[]): ConfigProblem[] {
  if (net.mode !== "bridge") return [];
  const at = (key: string) => net.lines[key] ?? net.lines["[section]"] ?? 0;
  const out: ConfigProblem[] = [];
  const bad = (key: string, message: string) => out.push({ file: config.file, line: at(key), key, message });
  if (net.bridge === DEFAULT_ROUTE_BRIDGE) {
    try {
      resolveBridge(config, net, routes);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return out;
  }
  const bridge = readLink(net.bridge);
  if (bridge && !bridge.isBridge) return out; // preflight's common check says so already
  const sub = vlanPortName(net);
  if (sub) {
    const trunk = readLink(net.trunk!);
    if (!trunk) bad("trunk", `no interface ${net.trunk} on this host`);
    else if (trunk.isBridge) bad("trunk", `${net.trunk} is a bridge; name the NIC that carries the tagged frames`);
    const port = readVlanPort(sub);
    if (port && (port.vid !== net.vlan || port.lower !== net.trunk))
      bad("vlan", `${sub} exists but is not VLAN ${net.vlan} of ${net.trunk}`);
    else if (port?.link.master && port.link.master !== net.bridge)
      bad("vlan", `${sub} is already a port of ${port.link.master}`);
    return out;
  }
  if (bridge) return out;
  if (!net.uplink) {
    bad(
      "bridge",
      `${net.bridge} does not exist: create it (e.g. in /etc/network/interfaces), or set uplink = NIC to have kvmnet build it over that NIC`,
    );
    return out;
  }
  const uplink = readLink(net.uplink);
  if (!uplink) bad("uplink", `no interface ${net.uplink} on this host`);
  else if (uplink.isBridge)
    bad("uplink", `${net.uplink} is itself a bridge: say bridge = ${net.uplink} to attach to it`);
  else if (uplink.master) bad("uplink", `${net.uplink} is already a port of ${uplink.master}`);
  else if (net.uplink === "lo") bad("uplink", "lo cannot be bridged");
  return out;
}
