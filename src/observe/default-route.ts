// `bridge = @default-route`: the bridge that carries the host's default route, found as Debian's own
// /etc/qemu-ifup finds it (the first default route whose device is a bridge), from /proc alone.
import type { Config, Network } from "../config/types.js";
import { ConfigError } from "../errors.js";
import { readLink } from "./links.js";
import { readRoutes, type Route } from "./routes.js";

/** The value of `bridge` that means "the bridge carrying the default route". */
export const DEFAULT_ROUTE_BRIDGE = "@default-route";

/** Devices of the default routes, in table order, each once. */
export function defaultRouteDevices(routes: Route[]): string[] {
  return [...new Set(routes.filter((r) => r.dest.prefix === 0).map((r) => r.dev))];
}

/** NET with `@default-route` replaced by the bridge it names now; NET itself for any other bridge.
 *  No such bridge is a configuration error (exit 2, nothing changed): a VM without its network is worse. */
export function resolveBridge(config: Config, net: Network, routes: Route[] = readRoutes()): Network {
  if (net.bridge !== DEFAULT_ROUTE_BRIDGE) return net;
  const devs = defaultRouteDevices(routes);
  const bridge = devs.find((d) => readLink(d)?.isBridge);
  if (bridge) return { ...net, bridge };
  const why =
    devs.length === 0
      ? "the host has no default route"
      : `the default route goes through ${devs.join(", ")}, which is not a bridge`;
  throw new ConfigError([
    {
      file: config.file,
      line: net.lines.bridge ?? net.lines["[section]"] ?? 0,
      key: "bridge",
      message: `${DEFAULT_ROUTE_BRIDGE}: ${why}; put the host's NIC on a bridge (or name the bridge here)`,
    },
  ]);
}

/** resolveBridge, but NET unchanged instead of an error (for detaching, where there is nothing to refuse). */
export function resolveBridgeOr(config: Config, net: Network): Network {
  try {
    return resolveBridge(config, net);
  } catch (e) {
    if (e instanceof ConfigError) return net;
    throw e;
  }
}
