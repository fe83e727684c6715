// What `kvmnet watch` reacts to, and which networks count as up: pure functions of monitor lines and snapshots.
import type { Config, Network } from "../config/types.js";
import { firewallAbsent } from "../firewall/up-down.js";
import type { Snapshot } from "../observe/snapshot.js";

/** Quiet time after the last event before converging: a flush or a reload comes as a burst of events. */
export const SETTLE_MS = 150;

/** A line of `nft monitor` that may concern kvmnet: anything but its generation comments and set elements of
 *  other tables (fail2ban, crowdsec and the like add and delete those all day long; kvmnet keeps no set elsewhere). */
export function nftLineMatters(line: string): boolean {
  if (line.startsWith("#") || line.trim() === "") return false;
  const el = /^(?:add|delete|destroy) element (\S+) (\S+) /.exec(line);
  return !el || (el[1] === "inet" && el[2] === "kvmnet");
}

/** The interfaces whose link events matter: every network's bridge, uplink and trunk. */
export function watchedLinks(config: Config): Set<string> {
  return new Set(config.networks.flatMap((n) => [n.bridge, n.uplink, n.trunk].filter((x): x is string => !!x)));
}

/** A line of `ip monitor link` naming one of NAMES: as the link itself ("7: br0: <...>", "Deleted 7: br0: ...",
 *  "vlan10@eth0") or as its master (a port joining or leaving a bridge). Continuation lines name nothing. */
export function linkLineMatters(line: string, names: Set<string>): boolean {
  const m = /^(?:Deleted )?\d+: ([^:@\s]+)(?:@\S+)?: /.exec(line);
  if (!m) return false;
  const master = / master (\S+)/.exec(line)?.[1];
  return names.has(m[1]!) || (master !== undefined && names.has(master));
}

/** True when NET counts as up in SNAP: its bridge exists, or what kvmnet made of it is still there (its dnsmasq,
 *  its rules) and only the bridge went (deleted by hand or by another program: it is made again). `kvmnet down`
 *  and a down hook remove all of it, so a network taken down stays down. */
export function stillUp(net: Network, snap: Snapshot): boolean {
  if (snap.bridge) return true;
  const d = snap.dnsmasq;
  if (d && (d.pid !== null || d.orphans.length > 0)) return true;
  return !!snap.firewall && !firewallAbsent(net, snap.firewall);
}
