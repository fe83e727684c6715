// Building a bridge over an uplink NIC (mode = bridge with uplink, the seed's bridged model): the NIC's
// addresses and routes move to the bridge in one `ip -batch`, and a second batch undoes whatever of it ran. A move
// cut off without its journal is finished from what the bridge and the NIC hold.
import type { Network } from "../config/types.js";
import type { Link } from "../observe/links.js";
import type { UplinkAddr, UplinkRoute, UplinkState } from "../observe/uplink-state.js";
import { FOREVER } from "../observe/uplink-state.js";
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

/** What a killed move left of NET's bridge over the uplink (found with kvmnet's alias on it): the bridge, and the
 *  addresses and routes it already holds. */
export interface BuiltBridge {
  link: Link;
  state: UplinkState;
  /** Routes (`route` arguments through the bridge) known from the move's journal and held by neither device. */
  lost?: string[];
}

/** The routes JOURNAL (a move's undo batch) puts back on NIC that are not among HELD, as `route` arguments
 *  through BR. */
export function journalRoutes(journal: string, nic: string, br: string, held: UplinkRoute[]): string[] {
  const have = new Set(held.map((r) => routeSpec(r, nic)));
  const prepend = "route prepend ";
  return journal
    .split("\n")
    .filter((l) => l.startsWith(prepend) && !have.has(l.slice(prepend.length)))
    .map((l) => onDevice(l.slice(prepend.length), nic, br));
}

// SPEC (`route` arguments) with `dev FROM` made `dev TO`.
function onDevice(spec: string, from: string, to: string): string {
  const words = spec.split(" ");
  const i = words.findIndex((w, k) => w === "dev" && words[k + 1] === from);
  if (i >= 0) words[i + 1] = to;
  return words.join(" ");
}

/** The plan that creates NET's bridge over UPLINK and moves UPLINK's addresses and routes onto it; with BUILT (a
 *  bridge a cut-off move left, without its journal), only what that move had not done yet: [] lines when nothing. */
export function planUplinkBridge(net: Network, uplink: UplinkState, built?: BuiltBridge): UplinkPlan {
  const br = net.bridge;
  const nic = uplink.link.name;
  const on = built?.state ?? { addrs: [], routes: [] };
  const hasAddr = new Set(on.addrs.map((a) => `${a.local}/${a.prefixlen}`));
  const hasRoute = new Set(on.routes.map((r) => routeSpec(r, "")));
  // The bridge takes the NIC's MAC: neighbours' ARP caches and DHCP reservations stay valid, and a MAC that
  // is set explicitly does not change as ports come and go.
  const make = [
    `link add name ${br} address ${uplink.link.mac} mtu ${net.mtu ?? uplink.link.mtu} type bridge stp_state 0 forward_delay 0`,
    `link set dev ${br} alias ${bridgeAlias(net)}`,
  ];
  const lines = [
    ...(built ? [] : make),
    ...(uplink.link.master === br ? [] : [`link set dev ${nic} master ${br}`]),
    ...(built?.link.up ? [] : [`link set dev ${br} up`]),
    // Addresses go on the bridge before they leave the NIC, so routes through them always have a source.
    ...uplink.addrs
      .filter((a) => !hasAddr.has(`${a.local}/${a.prefixlen}`))
      .map((a) => `address add ${addrSpec(a, br, nic)}`),
    // Each route is on the bridge before it leaves the NIC: wherever a run is cut off, the kernel still holds every
    // route, and the next run finishes the move from what it sees. Prepended, as the NIC's twin has the same
    // destination and metric (`add` would find it there).
    ...uplink.routes.filter((r) => !hasRoute.has(routeSpec(r, ""))).map((r) => `route prepend ${routeSpec(r, br)}`),
    ...(built?.lost ?? []).map((spec) => `route prepend ${spec}`),
    ...uplink.routes.map((r) => `route del ${routeSpec(r, nic)}`),
    // Secondaries first: deleting a primary address takes its secondaries with it.
    ...[...uplink.addrs].reverse().map((a) => `address del ${a.local}/${a.prefixlen} dev ${nic}`),
  ];
  // Deleting the bridge frees the NIC and drops whatever moved onto the bridge; re-adding what the NIC had
  // fails harmlessly ("File exists") for the parts that never left it. Routes are prepended, not added: a
  // route of another device with the same destination and metric must not keep the NIC's from coming back.
  // A move finished from what a cut-off one left undoes to what both devices hold between them.
  const extraAddrs = on.addrs.filter((a) => !uplink.addrs.some((u) => u.local === a.local));
  const routes = [...uplink.routes, ...on.routes.filter((r) => !uplink.routes.some((u) => sameRoute(u, r)))];
  const rollback = [
    `link set dev ${nic} nomaster`,
    `link delete dev ${br}`,
    ...uplink.addrs.map((a) => `address add ${addrSpec(a, nic, nic)}`),
    ...extraAddrs.map((a) => `address add ${addrSpec(a, nic, br)}`),
    ...routes.map((r) => `route prepend ${routeSpec(r, nic)}`),
    ...(built?.lost ?? []).map((spec) => `route prepend ${onDevice(spec, br, nic)}`),
  ];
  return { lines, rollback };
}

function sameRoute(a: UplinkRoute, b: UplinkRoute): boolean {
  return routeSpec(a, "") === routeSpec(b, "");
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
