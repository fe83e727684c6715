// The addresses and routes of an uplink NIC, as `ip -json` prints them: what moves to a bridge built over it.
// Only read when that bridge is missing (a cold start), so the three processes cost the warm path nothing.
import { run, type Exec } from "../host/exec.js";
import { readLink, type Link } from "./links.js";

/** One address of the uplink, with what `ip address add` needs to recreate it. */
export interface UplinkAddr {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  peer?: string;
  broadcast?: string;
  scope: string;
  label?: string;
  /** Lifetimes in seconds; 4294967295 is forever. */
  valid: number;
  preferred: number;
  noprefixroute: boolean;
}

/** One route through the uplink, with what `ip route add` needs to recreate it. */
export interface UplinkRoute {
  family: "inet" | "inet6";
  dst: string;
  gateway?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  onlink: boolean;
}

/** The uplink as found. */
export interface UplinkState {
  link: Link;
  addrs: UplinkAddr[];
  routes: UplinkRoute[];
}

/** Lifetime meaning "forever". */
export const FOREVER = 4294967295;

type Json = Record<string, unknown>;

/** The addresses worth moving from `ip -json address show dev X`: not IPv6 link-local, not kernel-made (SLAAC). */
export function parseAddrs(json: string): UplinkAddr[] {
  const links = JSON.parse(json || "[]") as { addr_info?: Json[] }[];
  return (links[0]?.addr_info ?? [])
    .filter((a) => {
      if (a.family !== "inet" && a.family !== "inet6") return false;
      // The bridge makes its own link-local address, and the kernel re-learns SLAAC addresses on it.
      return !(a.family === "inet6" && (a.scope === "link" || a.dynamic === true || a.temporary === true));
    })
    .map((a) => ({
      family: a.family as "inet" | "inet6",
      local: String(a.local),
      prefixlen: Number(a.prefixlen),
      ...(typeof a.address === "string" && a.address !== a.local ? { peer: a.address } : {}),
      ...(typeof a.broadcast === "string" ? { broadcast: a.broadcast } : {}),
      scope: String(a.scope ?? "global"),
      ...(typeof a.label === "string" ? { label: a.label } : {}),
      valid: Number(a.valid_life_time ?? FOREVER),
      preferred: Number(a.preferred_life_time ?? FOREVER),
      noprefixroute: a.noprefixroute === true,
    }));
}

/** The routes worth moving from `ip -json route show table all dev X`: what the kernel does not remake by itself
 *  (connected and local routes come back with the addresses, RA routes with the next advertisement). */
export function parseRoutes(json: string, family: "inet" | "inet6"): UplinkRoute[] {
  const routes = JSON.parse(json || "[]") as Json[];
  return routes
    .filter((r) => {
      const type = String(r.type ?? "unicast");
      return type === "unicast" && r.table !== "local" && r.protocol !== "kernel" && r.protocol !== "ra";
    })
    .map((r) => ({
      family,
      dst: String(r.dst),
      ...(typeof r.gateway === "string" ? { gateway: r.gateway } : {}),
      ...(typeof r.table === "string" && r.table !== "main" ? { table: r.table } : {}),
      ...(typeof r.protocol === "string" && r.protocol !== "boot" ? { protocol: r.protocol } : {}),
      ...(typeof r.scope === "string" ? { scope: r.scope } : {}),
      ...(typeof r.prefsrc === "string" ? { prefsrc: r.prefsrc } : {}),
      ...(typeof r.metric === "number" && !(family === "inet6" && r.metric === 1024) ? { metric: r.metric } : {}),
      onlink: Array.isArray(r.flags) && r.flags.includes("onlink"),
    }));
}

/** Read the uplink NAME: its link, addresses and routes (three `ip` processes); null when it does not exist. */
export function observeUplink(exec: Exec, name: string): UplinkState | null {
  const link = readLink(name);
  if (!link) return null;
  return {
    link,
    addrs: parseAddrs(run(exec, "ip", ["-json", "address", "show", "dev", name])),
    routes: [
      ...parseRoutes(run(exec, "ip", ["-json", "-4", "route", "show", "table", "all", "dev", name]), "inet"),
      ...parseRoutes(run(exec, "ip", ["-json", "-6", "route", "show", "table", "all", "dev", name]), "inet6"),
    ],
  };
}
