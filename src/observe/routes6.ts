// The host's IPv6 routes, from /proc/net/ipv6_route: no process needed.
import { readFileSync } from "node:fs";
import { canonical6, type Cidr6 } from "../ipv6.js";

/** One IPv6 route: destination prefix, device, and the next hop when it has one. */
export interface Route6 {
  dest: Cidr6;
  dev: string;
  gateway: string | null;
}

// RTF_LOCAL: the host's own address (a /128 on the interface that holds it), not somewhere packets are sent.
const RTF_LOCAL = 0x80000000;

const hex = (h: string) => canonical6(h.match(/.{4}/g)!.join(":"));

/** Parse the text of /proc/net/ipv6_route: the routes that send somewhere (no local, multicast or link-local
 *  routes, no default route). */
export function parseRoutes6(text: string): Route6[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && /^[0-9a-f]{32}$/.test(f[0]!))
    .filter((f) => (parseInt(f[8]!, 16) & RTF_LOCAL) === 0)
    .map((f) => {
      const gw = hex(f[4]!);
      return {
        dest: { address: hex(f[0]!), prefix: parseInt(f[1]!, 16) },
        dev: f[9]!,
        gateway: gw === "::" ? null : gw,
      };
    })
    .filter((r) => r.dest.prefix > 0 && !/^(ff|fe[89ab])/.test(r.dest.address));
}

/** The IPv6 routes of this network namespace ([] when the host has no IPv6). */
export function readRoutes6(): Route6[] {
  try {
    return parseRoutes6(readFileSync("/proc/net/ipv6_route", "utf8"));
  } catch {
    return [];
  }
}
