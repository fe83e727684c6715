// Validator of the static leases, `host.NAME = MAC,IP`: a free guest address each, no MAC or IP given twice.
import { contains, isIPv4, isNetworkOrBroadcast, type Cidr } from "../ipv4.js";
import type { Check } from "./check.js";
import type { StaticHost } from "./types.js";
import { show } from "./value.js";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The `host.NAME` keys, in file order; they need dhcp_range. */
export const checkHosts: Check = ({ values, net, bad }) => {
  const keys = Object.keys(values).filter((k) => k.startsWith("host."));
  for (const key of keys) {
    const host = parseHost(key, values[key]!, net.address, net.hosts, (m) => bad(key, m));
    if (host) net.hosts.push(host);
  }
  if (net.hosts.length > 0 && values.dhcp_range === undefined)
    bad(keys[0]!, "static leases need dhcp_range (DHCP runs only with a range)");
};

// The lease of KEY = VALUE on a network with ADDRESS and the leases HOSTS before it, or null (said to BAD).
function parseHost(
  key: string,
  value: string,
  a: Cidr | undefined,
  hosts: StaticHost[],
  bad: (m: string) => void,
): StaticHost | null {
  const name = key.slice("host.".length);
  const [mac, ip, extra] = value.split(",").map((s) => s.trim());
  const why = !HOSTNAME.test(name)
    ? `${show(name)} is not a host name (letters, digits, inner hyphens)`
    : !mac || !ip || extra !== undefined || !MAC.test(mac)
      ? `${show(value)} is not MAC,IP such as 52:54:00:88:88:88,192.0.2.10`
      : parseInt(mac.slice(0, 2), 16) & 1
        ? `${mac} is a multicast MAC address`
        : !isIPv4(ip)
          ? `${show(ip)} is not an IPv4 address`
          : a && (!contains(a, ip) || isNetworkOrBroadcast(a, ip) || ip === a.address)
            ? `${ip} is not a free guest address in ${a.address}/${a.prefix}`
            : clash(hosts, mac, ip);
  if (why) {
    bad(why);
    return null;
  }
  return { name, mac: mac!.toLowerCase(), ip: ip! };
}

// Why MAC or IP cannot be given again, or null.
function clash(hosts: StaticHost[], mac: string, ip: string): string | null {
  const c = hosts.find((h) => h.mac.toLowerCase() === mac.toLowerCase() || h.ip === ip);
  return c ? `MAC or IP already given to host.${c.name}` : null;
}
