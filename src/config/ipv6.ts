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
    if (v === "auto") {
      let id = "";
      try {
        id = machineId().trim();
      } catch {
        /* reported below */
      }
      if (id) out.address6 = autoUla(id, name);
      else bad("address6", `auto needs the machine id in ${MACHINE_ID}: name the address, such as fd00:0:0:1::1/64`);
    } else {
      const c = parseCidr6(v);
      if (!c) bad("address6", `${show(v)} is not an IPv6 address with a prefix, such as fd00:0:0:1::1/64, or auto`);
      else if (c.prefix !== 64)
        bad("address6", `prefix /${c.prefix}: guests configure themselves (SLAAC) only in a /64`);
      else if (NOT_FOR_A_LAN.includes(range6(c.address)))
        bad(
          "address6",
          `${c.address} is ${RANGE_NAMES[range6(c.address)] ?? `a ${range6(c.address)}`} address, not one a network's prefix can hold`,
        );
      else if (`${c.address}/64` === subnetOf6(c))
        bad("address6", `${c.address} is the prefix's subnet-router anycast address`);
      else out.address6 = c;
    }
  }
  if (values.dhcp6_range !== undefined) {
    const [first, last, extra] = values.dhcp6_range.split(",").map((s) => s.trim());
    const a = out.address6;
    const f = first && parseCidr6(`${first}/128`);
    const l = last && parseCidr6(`${last}/128`);
    if (!f || !l || extra !== undefined)
      bad("dhcp6_range", `${show(values.dhcp6_range)} is not FIRST,LAST (two IPv6 addresses)`);
    else if (!a)
      bad(
        "dhcp6_range",
        values.address6 === undefined ? "needs address6 (the prefix the range lies in)" : "needs a valid address6",
      );
    else if (!contains6(a, f.address) || !contains6(a, l.address))
      bad("dhcp6_range", `${values.dhcp6_range} is not inside ${subnetOf6(a)}`);
    else if (compare6(f.address, l.address) > 0) bad("dhcp6_range", `reversed: ${f.address} comes after ${l.address}`);
    else if (compare6(f.address, a.address) <= 0 && compare6(a.address, l.address) <= 0)
      bad("dhcp6_range", `includes the host's own address ${a.address}`);
    else out.dhcp6Range = { first: f.address, last: l.address };
  }
  return out;
}
