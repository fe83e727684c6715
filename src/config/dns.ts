// The DNS keys of a network: `dns = no` (DHCP only), `dns_forwarders`, and SRV, TXT and CNAME records
// (`dns_srv.NAME`, `dns_txt.NAME`, `dns_cname.NAME`), plus the `dhcp_option.NAME` keys, checked together
// because they all end up in the network's dnsmasq.
import type { DnsSettings } from "./types.js";
import { isIPv4 } from "../ipv4.js";
import { isIPv6 } from "../ipv6.js";
import { parseDhcpOption } from "./dhcp-options.js";
import type { DhcpOption } from "./types.js";
import { parseBool } from "./keys.js";
import { show } from "./value.js";

/** The DNS and DHCP-option keys of a network, as far as they are set. */
export interface DnsKeys {
  dns?: DnsSettings;
  dhcpOptions?: DhcpOption[];
}

const LABEL = "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?";
const NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);
const SRV_NAME = /^_[A-Za-z0-9-]{1,62}\._(tcp|udp|sctp|tls)(\.[A-Za-z0-9.-]+)?$/;

/** Validate the DNS and DHCP-option keys in VALUES; problems go to BAD. HAS_DHCP: the network has dhcp_range. */
export function validateDns(
  values: Record<string, string>,
  hasDhcp: boolean,
  domain: string | undefined,
  bad: (key: string, message: string) => void,
): DnsKeys {
  const keys = Object.keys(values);
  const ours = keys.filter((k) => /^(dns|dns_forwarders|dns_(srv|txt|cname)\..*|dhcp_option\..*)$/.test(k));
  if (ours.length === 0) return {};
  if (!hasDhcp) {
    for (const k of ours)
      bad(k, "needs dhcp_range (DNS and DHCP options are served by the network's dnsmasq, which runs with DHCP)");
    return {};
  }
  const out: DnsKeys = {};
  const s = dnsSettings(values, keys, bad);
  if (values.dns !== undefined || ours.some((k) => k !== "dns" && !k.startsWith("dhcp_option."))) out.dns = s;
  const options = dhcpOptions(values, keys, domain, bad);
  if (options.length) out.dhcpOptions = options;
  return out;
}

// `dns`, `dns_forwarders` and the records of VALUES (whose keys are KEYS); problems go to BAD.
function dnsSettings(
  values: Record<string, string>,
  keys: string[],
  bad: (key: string, message: string) => void,
): DnsSettings {
  const s: DnsSettings = { off: false, forwarders: [], srv: [], txt: [], cname: [] };
  if (values.dns !== undefined) {
    const b = parseBool(values.dns);
    if (b === null) bad("dns", `${show(values.dns)} is not yes or no (no: DHCP only, nothing on port 53)`);
    else s.off = !b;
  }
  const records = keys.filter((k) => /^dns_(srv|txt|cname)\./.test(k));
  if (s.off)
    for (const k of [...records, ...(values.dns_forwarders !== undefined ? ["dns_forwarders"] : [])])
      bad(k, "dns = no runs no DNS on the network: drop this key, or set dns = yes");
  if (values.dns_forwarders !== undefined) {
    const list = values.dns_forwarders.split(",").map((x) => x.trim());
    const wrong = list.find((a) => !isIPv4(a) && !isIPv6(a));
    if (wrong !== undefined)
      bad(
        "dns_forwarders",
        `${show(wrong)} is not an IPv4 or IPv6 address (list the upstream servers, such as 198.51.100.53, 203.0.113.53)`,
      );
    else s.forwarders = list;
  }
  for (const key of records) {
    const why = record(key, values[key]!, s);
    if (why) bad(key, why);
  }
  return s;
}

// The record of KEY = V added to S, or why it is not one.
function record(key: string, v: string, s: DnsSettings): string | null {
  const [kind, name] = [key.slice(4, key.indexOf(".")), key.slice(key.indexOf(".") + 1)];
  if (kind === "srv") return srvRecord(name, v, s);
  if (!NAME.test(name)) return `${show(name)} is not a DNS name (labels of letters, digits, hyphens and underscores)`;
  if (kind === "txt") {
    if (/["\\]/.test(v) || /[\u0000-\u001f\u007f]/.test(v) || v.length > 255)
      return `${show(v)} is not TXT text: at most 255 characters, no double quotes, backslashes or control characters`;
    s.txt.push({ name, text: v });
  } else if (!NAME.test(v)) {
    return `${show(v)} is not a DNS name: a CNAME points to a name this network's dnsmasq answers (a guest)`;
  } else s.cname.push({ alias: name, target: v });
  return null;
}

// `dns_srv.NAME = TARGET,PORT[,PRIORITY[,WEIGHT]]` added to S, or why it is not one.
function srvRecord(name: string, v: string, s: DnsSettings): string | null {
  if (!SRV_NAME.test(name))
    return `${show(name)} is not a service name such as _ldap._tcp (optionally followed by a domain)`;
  const [target, ...nums] = v.split(",").map((x) => x.trim());
  const n = nums.map(Number);
  if (
    !target ||
    !NAME.test(target) ||
    nums.length < 1 ||
    nums.length > 3 ||
    nums.some((x) => !/^\d{1,5}$/.test(x)) ||
    n.some((x) => x > 65535)
  )
    return `${show(v)} is not TARGET,PORT[,PRIORITY[,WEIGHT]] such as ldap.lab.example,389`;
  s.srv.push({ name, target, port: n[0]!, priority: n[1] ?? 0, weight: n[2] ?? 0 });
  return null;
}

// The `dhcp_option.NAME` keys of VALUES (whose keys are KEYS), in file order; problems go to BAD.
function dhcpOptions(
  values: Record<string, string>,
  keys: string[],
  domain: string | undefined,
  bad: (key: string, message: string) => void,
): DhcpOption[] {
  const options: DhcpOption[] = [];
  for (const key of keys.filter((k) => k.startsWith("dhcp_option."))) {
    const got = parseDhcpOption(key.slice("dhcp_option.".length), values[key]!);
    if (typeof got === "string") bad(key, got);
    else if (options.some((o) => o.number === got.number))
      bad(key, `option ${got.number} is already set by another dhcp_option key`);
    else if (got.number === 119 && domain !== undefined)
      bad(
        key,
        `domain = ${domain} already sends the search list: drop this key, or list ${domain} in it and drop domain`,
      );
    else options.push(got);
  }
  return options;
}
