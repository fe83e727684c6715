// IPv6 addresses and prefixes of a network (`address6`, `dhcp6_range`), on top of ipaddr.js, and the ULA prefix
// `address6 = auto` derives from the machine id and the network name (RFC 4193's random global ID, made
// deterministic so that `kvmnet plan` says the same on every run).
import ipaddr from "ipaddr.js";
import { sha256 } from "./core/sha256.js";

/** An IPv6 address (canonical text) with a prefix length. */
export interface Cidr6 {
  address: string;
  prefix: number;
}

/** True when TEXT is an IPv6 address (no zone, no prefix). */
export function isIPv6(text: string): boolean {
  return text.includes(":") && !text.includes("%") && ipaddr.IPv6.isValid(text);
}

/** Parse "ADDR/PREFIX" as IPv6, or null. The address is kept in canonical (RFC 5952) form. */
export function parseCidr6(text: string): Cidr6 | null {
  const m = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(text);
  if (!m || !isIPv6(m[1]!)) return null;
  const prefix = Number(m[2]);
  if (prefix > 128) return null;
  return { address: ipaddr.IPv6.parse(m[1]!).toString(), prefix };
}

/** The address in canonical form. */
export function canonical6(address: string): string {
  return ipaddr.IPv6.parse(address).toString();
}

/** The prefix of C as "NETWORK/PREFIX" (host bits cleared). */
export function subnetOf6(c: Cidr6): string {
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${c.address}/${c.prefix}`).toString()}/${c.prefix}`;
}

/** True when ADDRESS lies in C's prefix. */
export function contains6(c: Cidr6, address: string): boolean {
  return ipaddr.IPv6.parse(address).match(ipaddr.IPv6.parse(c.address), c.prefix);
}

/** True when prefixes A and B share an address (one holds the other). */
export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return ipaddr.IPv6.parse(a.address).match(ipaddr.IPv6.parse(b.address), Math.min(a.prefix, b.prefix));
}

/** Order of two IPv6 addresses (negative, 0, positive). */
export function compare6(a: string, b: string): number {
  const x = ipaddr.IPv6.parse(a).toByteArray();
  const y = ipaddr.IPv6.parse(b).toByteArray();
  const i = x.findIndex((v, k) => v !== y[k]);
  return i < 0 ? 0 : x[i]! - y[i]!;
}

/** How many addresses FIRST..LAST holds, at most 65536 (a pool size dnsmasq's lease limit can take). */
export function size6(first: string, last: string): number {
  const n = (a: string) => BigInt(`0x${Buffer.from(ipaddr.IPv6.parse(a).toByteArray()).toString("hex")}`);
  const d = n(last) - n(first) + 1n;
  return d > 65536n ? 65536 : Number(d);
}

/** The scope a link-local, multicast or unique local address has, for refusing addresses a network cannot use. */
export function range6(address: string): string {
  return ipaddr.IPv6.parse(address).range();
}

/** `address6 = auto`: fdXX:XXXX:XXXX:SSSS::1/64, the global ID and subnet taken from a hash of MACHINEID and NAME. */
export function autoUla(machineId: string, name: string): Cidr6 {
  const h = Buffer.from(sha256(`kvmnet ${machineId.trim()} ${name}`));
  const hex = (i: number) => h.readUInt16BE(i).toString(16);
  // fd + 40-bit global ID + 16-bit subnet ID.
  const first = (0xfd00 | h[0]!).toString(16);
  return { address: canonical6(`${first}:${hex(1)}:${hex(3)}:${hex(5)}::1`), prefix: 64 };
}
