// Validation of a network's IPv6 keys: `address6` (the host's address on the bridge, a /64, or `auto`) and
// `dhcp6_range` (stateful DHCPv6 beside SLAAC).
import { readFileSync } from "node:fs";
import { autoUla, compare6, contains6, parseCidr6, range6, subnetOf6, type Cidr6 } from "../ipv6.js";
import { show } from "./value.js";

/** Where `address6 = auto` reads the machine's identity (systemd's machine-id(5)). */
export const MACHINE_ID = "/etc/machine-id";

/** The IPv6 part of a network: the host's address on the bridge and the DHCPv6 range. */
export interface Ipv6Keys {
  address6?: Cidr6;
  dhcp6Range?: { first: string; last: string };
}

// Ranges the host's address on a guests' bridge cannot be in: they are not prefixes a router can advertise.
const NOT_FOR_A_LAN = [
  "unspecified",
  "linkLocal",
  "multicast",
  "loopback",
  "ipv4Mapped",
  "rfc6145",
  "rfc6052",
  "6to4",
  "teredo",
];

const RANGE_NAMES: Record<string, string> = {
  unspecified: "the unspecified",
  linkLocal: "a link-local",
  multicast: "a multicast",
  loopback: "the loopback",
  ipv4Mapped: "an IPv4-mapped",
  rfc6145: "an IPv4-translated",
  rfc6052: "a NAT64",
  "6to4": "a 6to4",
  teredo: "a Teredo",
};

/** Validate `address6` and `dhcp6_range` of network NAME from VALUES; problems go to BAD. */
export function validateIpv6(
  name: string,
  values: Record<string, string>,
  bad: (key: string, message: string) => void,
  machineId: () => string = () => readFileSync(MACHINE_ID, "utf8"),
): Ipv6Keys {
  const out: Ipv6Keys = {};
  const v = values.address6;
  if (v !== undefined) {
    const a = v === "auto" ? autoAddress6(name, machineId) : address6(v);
    if (typeof a === "string") bad("address6", a);
    else out.address6 = a;
  }
  if (values.dhcp6_range !== undefined) {
    const r = dhcp6Range(values.dhcp6_range, out.address6, values.address6 !== undefined);
    if (typeof r === "string") bad("dhcp6_range", r);
    else out.dhcp6Range = r;
  }
  return out;
}

// `address6 = auto`: the ULA /64 of network NAME from the machine's identity, or why there is none.
function autoAddress6(name: string, machineId: () => string): Cidr6 | string {
  let id = "";
  try {
    id = machineId().trim();
  } catch {
    /* reported below */
  }
  if (id) return autoUla(id, name);
  return `auto needs the machine id in ${MACHINE_ID}: name the address, such as fd00:0:0:1::1/64`;
}

// The host's address V with its /64, or why it cannot be one.
function address6(v: string): Cidr6 | string {
  const c = parseCidr6(v);
  if (!c) return `${show(v)} is not an IPv6 address with a prefix, such as fd00:0:0:1::1/64, or auto`;
  if (c.prefix !== 64) return `prefix /${c.prefix}: guests configure themselves (SLAAC) only in a /64`;
  if (NOT_FOR_A_LAN.includes(range6(c.address)))
    return `${c.address} is ${RANGE_NAMES[range6(c.address)] ?? `a ${range6(c.address)}`} address, not one a network's prefix can hold`;
  if (`${c.address}/64` === subnetOf6(c)) return `${c.address} is the prefix's subnet-router anycast address`;
  return c;
}

// The DHCPv6 range V in the prefix of A (SET: address6 is written, valid or not), or why it is not one.
function dhcp6Range(v: string, a: Cidr6 | undefined, set: boolean): { first: string; last: string } | string {
  const [first, last, extra] = v.split(",").map((s) => s.trim());
  const f = first && parseCidr6(`${first}/128`);
  const l = last && parseCidr6(`${last}/128`);
  if (!f || !l || extra !== undefined) return `${show(v)} is not FIRST,LAST (two IPv6 addresses)`;
  if (!a) return set ? "needs a valid address6" : "needs address6 (the prefix the range lies in)";
  if (!contains6(a, f.address) || !contains6(a, l.address)) return `${v} is not inside ${subnetOf6(a)}`;
  if (compare6(f.address, l.address) > 0) return `reversed: ${f.address} comes after ${l.address}`;
  if (compare6(f.address, a.address) <= 0 && compare6(a.address, l.address) <= 0)
    return `includes the host's own address ${a.address}`;
  return { first: f.address, last: l.address };
}
