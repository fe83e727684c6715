// IPv4 address and subnet arithmetic, on top of ipaddr.js.
import ipaddr from "ipaddr.js";

/** An IPv4 interface address with its prefix, e.g. 192.0.2.1/24. */
export interface Cidr {
  address: string;
  prefix: number;
}

/** Parse "A.B.C.D/N" (N 1..32); null if it is not one. */
export function parseCidr(text: string): Cidr | null {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIPv4(m[1]!)) return null;
  const prefix = Number(m[2]);
  if (prefix < 1 || prefix > 32) return null;
  return { address: normalise(m[1]!), prefix };
}

/** True for a dotted-quad IPv4 address in its four-part form. */
export function isIPv4(text: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text);
}

function normalise(a: string): string {
  return ipaddr.IPv4.parse(a).toString();
}

/** The address as a 32-bit unsigned number. */
export function toInt(address: string): number {
  const b = ipaddr.IPv4.parse(address).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** A 32-bit number as a dotted quad. */
export function fromInt(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

/** The network address of a prefix, e.g. 192.0.2.0 for 192.0.2.1/24. */
export function networkOf(c: Cidr): string {
  return fromInt((toInt(c.address) & maskInt(c.prefix)) >>> 0);
}

/** The subnet in CIDR form, e.g. "192.0.2.0/24". */
export function subnetOf(c: Cidr): string {
  return `${networkOf(c)}/${c.prefix}`;
}

/** The netmask as a dotted quad. */
export function netmaskOf(prefix: number): string {
  return fromInt(maskInt(prefix));
}

function maskInt(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when ADDRESS lies inside the subnet of C. */
export function contains(c: Cidr, address: string): boolean {
  const m = maskInt(c.prefix);
  return (toInt(address) & m) >>> 0 === (toInt(c.address) & m) >>> 0;
}

/** True when the two subnets share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const m = maskInt(p);
  return (toInt(a.address) & m) >>> 0 === (toInt(b.address) & m) >>> 0;
}

/** True for the subnet's network or broadcast address (they cannot be given to a host). */
export function isNetworkOrBroadcast(c: Cidr, address: string): boolean {
  if (c.prefix >= 31) return false;
  const n = toInt(address);
  const net = (toInt(c.address) & maskInt(c.prefix)) >>> 0;
  return n === net || n === (net | ~maskInt(c.prefix)) >>> 0;
}
