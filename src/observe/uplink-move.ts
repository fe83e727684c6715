// Whether a bridge kvmnet built over its uplink holds everything the move put on it, looked at without a process
// (sysfs, getifaddrs and the IPv4 routes already read), so the warm path of a bridge network stays as cheap as it
// was; only a move that looks unfinished costs the `ip` processes of observeUplink, for the NIC and the bridge.
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { Network } from "../config/types.js";
import { bridgeAlias } from "../core/names.js";
import { isRunning, type Link } from "./links.js";
import type { Route } from "./routes.js";

/** The alias of interface DEV ("" when it has none or is gone). */
export function readAlias(dev: string): string {
  try {
    return readFileSync(`/sys/class/net/${dev}/ifalias`, "utf8").trim();
  } catch {
    return "";
  }
}

/** True when BRIDGE is the one kvmnet builds for NET over UPLINK (its alias says so) and the move onto it may be
 *  unfinished: UPLINK is not its port, either is down, or UPLINK still holds an address or an IPv4 route. A NIC
 *  without carrier hides its addresses from getifaddrs, so it counts as unfinished too (the full look decides). */
export function moveMayBeUnfinished(net: Network, bridge: Link, uplink: Link, routes: Route[]): boolean {
  if (readAlias(bridge.name) !== bridgeAlias(net)) return false;
  if (uplink.master !== bridge.name || !bridge.up || !isRunning(uplink.name)) return true;
  const held = (networkInterfaces()[uplink.name] ?? []).filter((a) => !(a.family === "IPv6" && a.scopeid));
  return held.length > 0 || routes.some((r) => r.dev === uplink.name);
}
