// The `dhcp_option.NAME = VALUE` keys: DHCP options handed to a network's guests, by dnsmasq's name for the
// option or by its number, with the value checked against what the option carries.
import type { DhcpOption } from "./types.js";
import { isIPv4, parseCidr } from "../ipv4.js";
import { show } from "./value.js";

type Kind = "addresses" | "number" | "bool" | "text" | "domains" | "routes" | "classless" | "raw";

// dnsmasq's own names (`dnsmasq --help dhcp`) and what each carries. Options a client sends, or that dnsmasq or
// another key sets, are left out on purpose (see MANAGED).
const KNOWN: Record<string, [number, Kind]> = {
  "time-offset": [2, "number"],
  "dns-server": [6, "addresses"],
  "log-server": [7, "addresses"],
  "lpr-server": [9, "addresses"],
  "boot-file-size": [13, "number"],
  "swap-server": [16, "addresses"],
  "root-path": [17, "text"],
  "extension-path": [18, "text"],
  "ip-forward-enable": [19, "bool"],
  "non-local-source-routing": [20, "bool"],
  "policy-filter": [21, "raw"],
  "max-datagram-reassembly": [22, "number"],
  "default-ttl": [23, "number"],
  "all-subnets-local": [27, "bool"],
  "router-discovery": [31, "bool"],
  "router-solicitation": [32, "addresses"],
  "static-route": [33, "routes"],
  "trailer-encapsulation": [34, "bool"],
  "arp-timeout": [35, "number"],
  "ethernet-encap": [36, "bool"],
  "tcp-ttl": [37, "number"],
  "tcp-keepalive": [38, "number"],
  "nis-domain": [40, "text"],
  "nis-server": [41, "addresses"],
  "ntp-server": [42, "addresses"],
  "netbios-ns": [44, "addresses"],
  "netbios-dd": [45, "addresses"],
  "netbios-nodetype": [46, "number"],
  "netbios-scope": [47, "text"],
  "x-windows-fs": [48, "addresses"],
  "x-windows-dm": [49, "addresses"],
  T1: [58, "number"],
  T2: [59, "number"],
  "nis+-server": [65, "addresses"],
  "tftp-server": [66, "text"],
  "bootfile-name": [67, "text"],
  "mobile-ip-home": [68, "addresses"],
  "smtp-server": [69, "addresses"],
  "pop3-server": [70, "addresses"],
  "nntp-server": [71, "addresses"],
  "irc-server": [74, "addresses"],
  "posix-timezone": [100, "text"],
  "tzdb-timezone": [101, "text"],
  "ipv6-only": [108, "number"],
  "domain-search": [119, "domains"],
  "sip-server": [120, "addresses"],
  "classless-static-route": [121, "classless"],
  "tftp-server-address": [150, "addresses"],
};

// Options that are not the admin's to send through dhcp_option: what another key already says, what dnsmasq
// fills in itself, and what only clients send. The value says what to use instead.
const MANAGED: Record<number, string> = {
  1: "the netmask comes from address",
  3: "the router is the bridge address (nat, routed) or none (host-only)",
  15: "use the domain key (it also answers the guests' names under it)",
  26: "use the mtu key (it also sets the bridge's and the taps' MTU)",
  51: "dnsmasq sets the lease time",
  53: "dnsmasq sets the message type",
  54: "dnsmasq sets the server identifier",
  60: "the vendor class is sent by clients",
  77: "the user class is sent by clients",
  80: "rapid commit is dnsmasq's own",
  93: "the client architecture is sent by clients",
  94: "the client interface id is sent by clients",
  97: "the client machine id is sent by clients",
  125: "vendor-identifying options need dnsmasq's vendor encapsulation, which kvmnet does not write",
};

const BY_NUMBER = new Map(Object.entries(KNOWN).map(([name, [n, kind]]) => [n, { name, kind }]));

/** The option of key `dhcp_option.WHICH` with VALUE, or why it is not one kvmnet can hand out. */
export function parseDhcpOption(which: string, value: string): DhcpOption | string {
  let number: number;
  let kind: Kind;
  let spec: string;
  if (/^\d+$/.test(which)) {
    number = Number(which);
    if (number < 1 || number > 254) return `${show(which)} is not a DHCP option number 1-254`;
    kind = BY_NUMBER.get(number)?.kind ?? "raw";
    spec = String(number);
  } else {
    const known = Object.keys(KNOWN).find((k) => k.toLowerCase() === which.toLowerCase());
    if (known === undefined) {
      const managed = Object.entries(MANAGED_NAMES).find(([k]) => k === which.toLowerCase());
      if (managed) return `${show(which)} (option ${managed[1]}) is not set this way: ${MANAGED[managed[1]]}`;
      return `${show(which)} is not a DHCP option name dnsmasq knows (such as ntp-server, domain-search or classless-static-route): use its name or number 1-254`;
    }
    [number, kind] = KNOWN[known]!;
    spec = `option:${known}`;
  }
  if (MANAGED[number]) return `option ${number} is not set this way: ${MANAGED[number]}`;
  const why = badValue(kind, value);
  if (why) return `${show(value)}: ${why}`;
  return { number, spec, value: rendered(kind, value) };
}

// The names of MANAGED options that dnsmasq knows, for a clear message when one is used.
const MANAGED_NAMES: Record<string, number> = {
  netmask: 1,
  router: 3,
  "domain-name": 15,
  mtu: 26,
  "vendor-class": 60,
  "user-class": 77,
  "rapid-commit": 80,
  "client-arch": 93,
  "client-interface-id": 94,
  "client-machine-id": 97,
  "vendor-id-encap": 125,
  "server-ip-address": 255,
};

const DNS_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const list = (v: string) => v.split(",").map((s) => s.trim());

// Why VALUE does not fit an option of KIND, or null.
function badValue(kind: Kind, value: string): string | null {
  if (value.trim() === "") return "an empty value (leave the key out to send nothing)";
  switch (kind) {
    case "addresses":
      return list(value).every(isIPv4) ? null : "not a list of IPv4 addresses such as 192.0.2.5, 192.0.2.6";
    case "number":
      return /^-?\d{1,10}$/.test(value) && Math.abs(Number(value)) < 2 ** 32 ? null : "not a whole number";
    case "bool":
      return /^[01]$/.test(value) ? null : "not 0 or 1";
    case "text":
      return badText(value);
    case "domains":
      return list(value).every((d) => DNS_NAME.test(d))
        ? null
        : "not a list of DNS domains such as lab.example, example.org";
    case "routes":
    case "classless": {
      const items = list(value);
      const dest = kind === "routes" ? isIPv4 : (d: string) => d === "0.0.0.0/0" || parseCidr(d) !== null;
      const ok = items.length % 2 === 0 && items.every((x, i) => (i % 2 ? isIPv4(x) : dest(x)));
      if (ok) return null;
      return kind === "routes"
        ? "not DESTINATION,GATEWAY pairs of IPv4 addresses"
        : "not SUBNET/PREFIX,GATEWAY pairs such as 198.51.100.0/24,192.0.2.1 (add 0.0.0.0/0,GATEWAY to keep a default route: clients that take this option ignore option 3)";
    }
    case "raw":
      // An option dnsmasq has no name for: addresses, a number, hex bytes or text, as dnsmasq reads them.
      if (list(value).every(isIPv4) || /^\d+$/.test(value) || /^[0-9a-f]{2}(:[0-9a-f]{2})*$/i.test(value)) return null;
      return badText(value);
  }
}

function badText(value: string): string | null {
  if (/["\\]/.test(value) || /[\u0000-\u001f\u007f]/.test(value))
    return 'text must not hold double quotes, backslashes or control characters (quote the whole value with "...")';
  return value.length > 255 ? "text longer than 255 characters" : null;
}

// VALUE as dnsmasq's config line holds it: lists without spaces, text quoted (so commas stay in it).
function rendered(kind: Kind, value: string): string {
  if (kind === "text" || (kind === "raw" && badText(value) === null && !/^[\d.,: a-f]+$/i.test(value)))
    return `"${value}"`;
  return list(value).join(",");
}
