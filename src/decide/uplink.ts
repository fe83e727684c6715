// Building a bridge over an uplink NIC (mode = bridge with uplink, the seed's bridged model): the NIC's
// addresses and routes move to the bridge in one `ip -batch`, and a second batch undoes whatever of it ran.
import type { Network } from "../config/types.js";
import type { UplinkAddr, UplinkRoute, UplinkState } from "../observe/uplink.js";
import { FOREVER } from "../observe/uplink.js";
import { bridgeAlias } from "../core/names.js";

/** The forward batch and the batch that undoes it (run with `ip -force -batch`, so each line is tried). */
export interface UplinkPlan {
  lines: string[];
  rollback: string[];
}

/** `address` arguments recreating A on DEV (labels follow the device: eth0:1 becomes br0:1). */
export function addrSpec(a: UplinkAddr, dev: string, from: string): string {
  const label =
    a.label && a.label !== from && a.label.startsWith(`${from}:`) ? ` label ${dev}${a.label.slice(from.length)}` : "";
  const life =
    a.valid !== FOREVER || a.preferred !== FOREVER ? ` valid_lft ${a.valid} preferred_lft ${a.preferred}` : "";
  return [
    `${a.local}/${a.prefixlen}`,
    a.peer ? ` peer ${a.peer}` : "",
    a.broadcast ? ` broadcast ${a.broadcast}` : "",
    a.scope !== "global" ? ` scope ${a.scope}` : "",
    ` dev ${dev}${label}${life}`,
    a.noprefixroute ? " noprefixroute" : "",
  ].join("");
}

/** `route` arguments recreating R through DEV. */
export function routeSpec(r: UplinkRoute, dev: string): string {
  // "default" alone leaves ip to guess the family; the explicit prefix does not.
  const dst = r.dst === "default" ? (r.family === "inet" ? "0.0.0.0/0" : "::/0") : r.dst;
  return [
    dst,
    r.gateway ? ` via ${r.gateway}` : "",
    ` dev ${dev}`,
    r.table ? ` table ${r.table}` : "",
    r.protocol ? ` proto ${r.protocol}` : "",
    r.scope && !(r.scope === "link" && !r.gateway) ? ` scope ${r.scope}` : "",
    r.prefsrc ? ` src ${r.prefsrc}` : "",
    r.metric !== undefined ? ` metric ${r.metric}` : "",
    r.onlink ? " onlink" : "",
  ].join("");
}

/** The plan that creates NET's bridge over UPLINK and moves UPLINK's addresses and routes onto it. */
export function planUplinkBridge(net: Network, uplink: UplinkState): UplinkPlan {
  const br = net.bridge;
  const nic = uplink.link.name;
  // The bridge takes the NIC's MAC: neighbours' ARP caches and DHCP reservations stay valid, and a MAC that
  // is set explicitly does not change as ports come and go.
  const lines = [
    `link add name ${br} address ${uplink.link.mac} mtu ${net.mtu ?? uplink.link.mtu} type bridge stp_state 0 forward_delay 0`,
    `link set dev ${br} alias ${bridgeAlias(net)}`,
    `link set dev ${nic} master ${br}`,
    `link set dev ${br} up`,
    // Addresses go on the bridge before they leave the NIC, so routes through them always have a source.
    ...uplink.addrs.map((a) => `address add ${addrSpec(a, br, nic)}`),
    ...uplink.routes.map((r) => `route del ${routeSpec(r, nic)}`),
    // Secondaries first: deleting a primary address takes its secondaries with it.
    ...[...uplink.addrs].reverse().map((a) => `address del ${a.local}/${a.prefixlen} dev ${nic}`),
    ...uplink.routes.map((r) => `route add ${routeSpec(r, br)}`),
  ];
  // Deleting the bridge frees the NIC and drops whatever moved onto the bridge; re-adding what the NIC had
  // fails harmlessly ("File exists") for the parts that never left it. Routes are prepended, not added: a
  // route of another device with the same destination and metric must not keep the NIC's from coming back.
  const rollback = [
    `link set dev ${nic} nomaster`,
    `link delete dev ${br}`,
    ...uplink.addrs.map((a) => `address add ${addrSpec(a, nic, nic)}`),
    ...uplink.routes.map((r) => `route prepend ${routeSpec(r, nic)}`),
  ];
  return { lines, rollback };
}

/** What differs between the uplink before and after (for the rollback report); [] when it is as it was. */
export function uplinkDiff(before: UplinkState, after: UplinkState | null): string[] {
  if (!after) return [`${before.link.name} is gone`];
  // Addresses by value only: a lifetime counts down between the two readings.
  const a = new Set(after.addrs.map((x) => `${x.local}/${x.prefixlen}`));
  const r = new Set(after.routes.map((x) => routeSpec(x, "")));
  return [
    ...(after.link.master ? [`${after.link.name} is still a port of ${after.link.master}`] : []),
    ...before.addrs
      .filter((x) => !a.has(`${x.local}/${x.prefixlen}`))
      .map((x) => `address ${x.local}/${x.prefixlen} not restored`),
    ...before.routes
      .filter((x) => !r.has(routeSpec(x, "")))
      .map((x) => `route ${x.dst}${x.gateway ? ` via ${x.gateway}` : ""} not restored`),
  ];
}
