// Validators of the host's IPv4 address on the bridge (`address`) and the DHCP range in its subnet (`dhcp_range`).
import { contains, isIPv4, isNetworkOrBroadcast, parseCidr, toInt } from "../ipv4.js";
import type { Check } from "./check.js";
import { show } from "./value.js";

/** `address`: the host's address with the guests' prefix; the modes that take it need it. */
export const checkAddress: Check = ({ mode, values, bad }) => {
  if (values.address === undefined) {
    bad("address", `missing: mode ${mode} needs the host's address on the bridge, such as 192.0.2.1/24`);
    return;
  }
  const c = parseCidr(values.address);
  if (!c) bad("address", `${show(values.address)} is not an IPv4 address with a prefix, such as 192.0.2.1/24`);
  else if (c.prefix > 30) bad("address", `prefix /${c.prefix} leaves no room for guests (use /30 or shorter)`);
  else if (isNetworkOrBroadcast(c, c.address))
    bad("address", `${c.address} is the network or broadcast address of /${c.prefix}`);
  else return { address: c };
};

/** `dhcp_range`: FIRST,LAST inside the subnet of a valid address, around neither the host nor its ends. */
export const checkDhcpRange: Check = ({ values, net, bad }) => {
  const a = net.address;
  if (values.dhcp_range === undefined || !a) return;
  const [first, last, extra] = values.dhcp_range.split(",").map((s) => s.trim());
  if (!first || !last || extra !== undefined || !isIPv4(first) || !isIPv4(last)) {
    bad("dhcp_range", `${show(values.dhcp_range)} is not FIRST,LAST (two IPv4 addresses)`);
  } else if (!contains(a, first) || !contains(a, last)) {
    bad("dhcp_range", `${values.dhcp_range} is not inside the subnet of address ${a.address}/${a.prefix}`);
  } else if (toInt(first) > toInt(last)) {
    bad("dhcp_range", `reversed: ${first} comes after ${last}`);
  } else if (isNetworkOrBroadcast(a, first) || isNetworkOrBroadcast(a, last)) {
    bad("dhcp_range", `includes the network or broadcast address of ${a.address}/${a.prefix}`);
  } else if (toInt(first) <= toInt(a.address) && toInt(a.address) <= toInt(last)) {
    bad("dhcp_range", `includes the host's own address ${a.address}`);
  } else return { dhcpRange: { first, last } };
};
