// The reverse DNS zones (in-addr.arpa, ip6.arpa) that cover a network's subnets: dnsmasq answers them itself, and
// systemd-resolved sends their queries to the network's dnsmasq.
import { networkOf, type Cidr } from "../ipv4.js";
import { subnetOf6, type Cidr6 } from "../ipv6.js";
import ipaddr from "ipaddr.js";

/** The in-addr.arpa zones that cover C's subnet: one per octet boundary (a /22 is four /24 zones). */
export function reverseZones4(c: Cidr): string[] {
  const whole = Math.ceil(c.prefix / 8);
  const octets = networkOf(c).split(".").map(Number).slice(0, whole);
  const span = 2 ** (whole * 8 - c.prefix);
  return Array.from({ length: span }, (_, i) => {
    const o = [...octets];
    o[whole - 1] = o[whole - 1]! + i;
    return `${o.reverse().join(".")}.in-addr.arpa`;
  });
}

/** The ip6.arpa zone of C's prefix, whose length is a multiple of 4 (address6 is a /64). */
export function reverseZone6(c: Cidr6): string {
  const bytes = ipaddr.IPv6.parse(subnetOf6(c).split("/")[0]!).toByteArray();
  const nibbles = Buffer.from(bytes)
    .toString("hex")
    .slice(0, c.prefix / 4)
    .split("");
  return `${nibbles.reverse().join(".")}.ip6.arpa`;
}
