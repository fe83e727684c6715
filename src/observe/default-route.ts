// `bridge = @default-route`: the bridge that carries the host's default route, found as Debian's own
// /etc/qemu-ifup finds it (the first default route whose device is a bridge), from /proc and /sys alone.
import type { Config, Network } from "../config/types.js";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { readLink } from "./links.js";
import { readRoutes, type Route } from "./routes.js";
import { DEFAULT_ROUTE_BRIDGE } from "../core/names.js";

/** What the default routes go through: their devices in table order (each once), and the first that is a bridge. */
export interface DefaultRoute {
  devices: string[];
  bridge: string | null;
}

/** Devices of the default routes, in table order, each once. */
export function defaultRouteDevices(routes: Route[]): string[] {
  return [...new Set(routes.filter((r) => r.dest.prefix === 0).map((r) => r.dev))];
}

/** Look up the default routes' devices in ROUTES, and which of them is a bridge. */
export function findDefaultRoute(routes: Route[]): DefaultRoute {
  const devices = defaultRouteDevices(routes);
  return { devices, bridge: devices.find((d) => readLink(d)?.isBridge) ?? null };
}

/** Why `@default-route` names no bridge now (null when it does, or NET's bridge is named outright). */
export function defaultRouteProblem(config: Config, net: Network, found: DefaultRoute): ConfigProblem | null {
  if (net.bridge !== DEFAULT_ROUTE_BRIDGE || found.bridge) return null;
  const why =
    found.devices.length === 0
      ? "the host has no default route"
      : `the default route goes through ${found.devices.join(", ")}, which is not a bridge`;
  return {
    file: config.file,
    line: net.lines.bridge ?? net.lines["[section]"] ?? 0,
    key: "bridge",
    message: `${DEFAULT_ROUTE_BRIDGE}: ${why}; put the host's NIC on a bridge (or name the bridge here)`,
  };
}

/** NET with `@default-route` replaced by the bridge FOUND names; NET itself for any other bridge. No such bridge
 *  is a configuration error (exit 2, nothing changed) unless LENIENT (detaching: nothing to refuse, NET as it is). */
export function resolveBridge(config: Config, net: Network, found: DefaultRoute, lenient = false): Network {
  if (net.bridge !== DEFAULT_ROUTE_BRIDGE) return net;
  if (found.bridge) return { ...net, bridge: found.bridge };
  const problem = defaultRouteProblem(config, net, found);
  if (lenient || !problem) return net;
  throw new ConfigError([problem]);
}

/** NET with its bridge resolved from the host's routes now, or NET unchanged (for status and doctor). */
export function resolveBridgeOr(config: Config, net: Network): Network {
  return net.bridge === DEFAULT_ROUTE_BRIDGE ? resolveBridge(config, net, findDefaultRoute(readRoutes()), true) : net;
}
