// The host's IPv4 routes (main table), from /proc/net/route: no process needed.
import { readFileSync } from "node:fs";
import { fromInt, networkOf, type Cidr } from "../ipv4.js";

/** One route: destination subnet and device. */
export interface Route {
  dest: Cidr;
  dev: string;
  gateway: string | null;
}

// /proc/net/route holds addresses as little-endian hex.
function hexToAddress(hex: string): string {
  const n = parseInt(hex, 16);
  return fromInt(
    (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) | ((n >>> 24) & 255)) >>> 0,
  );
}

/** Parse the text of /proc/net/route. */
export function parseRoutes(text: string): Route[] {
  return text
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8)
    .map((f) => {
      const mask = hexToAddress(f[7]!);
      const prefix = mask.split(".").reduce((n, o) => n + Number(o).toString(2).replace(/0/g, "").length, 0);
      const gw = hexToAddress(f[2]!);
      return { dev: f[0]!, dest: { address: hexToAddress(f[1]!), prefix }, gateway: gw === "0.0.0.0" ? null : gw };
    });
}

/** The routes of this network namespace. */
export function readRoutes(): Route[] {
  return parseRoutes(readFileSync("/proc/net/route", "utf8"));
}

/** True when DEV holds ADDRESS/PREFIX, seen from /proc alone: the connected route of the subnet on DEV and
 *  ADDRESS among the host's local addresses. Needed because getifaddrs (os.networkInterfaces) omits
 *  interfaces without carrier, such as a bridge whose taps are all down. */
export function procHasAddress(dev: string, address: string, prefix: number, routes = readRoutes()): boolean {
  const net = networkOf({ address, prefix });
  const routed = routes.some(
    (r) => r.dev === dev && r.gateway === null && r.dest.prefix === prefix && r.dest.address === net,
  );
  return routed && isLocalAddress(address);
}

/** True when ADDRESS is one of this host's own IPv4 addresses (a LOCAL entry of /proc/net/fib_trie). */
export function isLocalAddress(address: string): boolean {
  return trieHasLocal(readFileSync("/proc/net/fib_trie", "utf8"), address);
}

/** True when TRIE (the text of /proc/net/fib_trie) lists ADDRESS as a LOCAL /32. */
export function trieHasLocal(trie: string, address: string): boolean {
  return new RegExp(`\\|-- ${address.replace(/\./g, "\\.")}\\n\\s+/32 host LOCAL`).test(trie);
}
