// Validation of one network section: each key's value, and which keys its mode needs or refuses.
import type { ConfigProblem } from "../errors.js";
import { contains, isIPv4, isNetworkOrBroadcast, parseCidr, toInt, type Cidr } from "../ipv4.js";
import { badName, badNetworkName } from "../core/ifname.js";
import { badDomain } from "./domain.js";
import { validateDns } from "./dns.js";
import { validateBoot } from "./tftp.js";
import type { DhcpOption, DnsSettings, NetBoot } from "./types.js";
import { NETWORK_KEYS, parseBool, specName, suggestKey } from "./keys.js";
import { MODES, type Mode, type Network, type Published, type StaticHost } from "./types.js";
import { show } from "./value.js";
import { validateIpv6 } from "./ipv6.js";
import { validatePublish } from "./publish.js";
import { validateVxlan } from "./vxlan.js";
import { validatePolicy } from "./policy.js";
import { validateAllow } from "./allow.js";
import type { Allow, Policy, Vxlan } from "./types.js";
import type { Cidr6 } from "../ipv6.js";
import { DEFAULT_ROUTE_BRIDGE } from "../core/names.js";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const GLOB = /^[A-Za-z0-9_.\-*?[\]]+$/;

/** Validate section NAME with VALUES; problems are pushed to OUT, the network is returned if usable. */
export function validateNetwork(
  file: string,
  name: string,
  values: Record<string, string>,
  lines: Record<string, number>,
  out: ConfigProblem[],
): Network | null {
  const before = out.length;
  const at = (key: string) => lines[key] ?? lines["[section]"] ?? 0;
  const bad = (key: string, message: string) => out.push({ file, line: at(key), key, message });
  const shown = show(name).slice(1, -1);
  const nameWhy = badNetworkName(name);
  if (nameWhy) bad(`[${shown}]`, `network name ${nameWhy}`);

  const mode = values.mode as Mode | undefined;
  if (mode === undefined) bad("mode", `missing in [${shown}]: say mode = ${MODES.join(" | ")}`);
  else if (!MODES.includes(mode)) bad("mode", `${show(mode)} is not a mode: use ${MODES.join(" | ")}`);
  const known = Object.keys(NETWORK_KEYS).filter((k) => !k.includes("NAME"));
  for (const key of Object.keys(values)) {
    const spec = Object.hasOwn(NETWORK_KEYS, specName(key)) ? NETWORK_KEYS[specName(key)] : undefined;
    if (!spec) {
      const hint = suggestKey(key, known);
      bad(key, `unknown key${hint ? `; did you mean ${hint}?` : ""}`);
    } else if (mode && MODES.includes(mode) && !spec.includes(mode)) {
      bad(key, `not used by mode ${mode} (only by ${spec.join(", ")})`);
    }
  }
  const net: Draft = {
    name,
    mode: mode ?? "nat",
    bridge: values.bridge ?? "",
    hosts: [],
    taps: [],
    isDefault: false,
    teardown: "keep",
    autostart: false,
    lines,
  };

  if (values.bridge === undefined) bad("bridge", `missing in [${shown}]: name the bridge (at most 15 characters)`);
  else if (values.bridge === DEFAULT_ROUTE_BRIDGE) {
    if (mode !== "bridge")
      bad(
        "bridge",
        `${DEFAULT_ROUTE_BRIDGE} is only for mode = bridge (a ${mode ?? "nat"} network needs a bridge of its own)`,
      );
    else if (values.uplink !== undefined || values.vlan !== undefined)
      bad("bridge", `${DEFAULT_ROUTE_BRIDGE} attaches to an existing bridge: it takes no uplink or vlan`);
  } else {
    const why = badName(values.bridge);
    if (why) bad("bridge", why);
  }

  const needsAddress = mode === "nat" || mode === "routed" || mode === "host-only";
  if (values.address !== undefined && needsAddress) {
    const c = parseCidr(values.address);
    if (!c) bad("address", `${show(values.address)} is not an IPv4 address with a prefix, such as 192.0.2.1/24`);
    else if (c.prefix > 30) bad("address", `prefix /${c.prefix} leaves no room for guests (use /30 or shorter)`);
    else if (isNetworkOrBroadcast(c, c.address))
      bad("address", `${c.address} is the network or broadcast address of /${c.prefix}`);
    else net.address = c;
  } else if (needsAddress)
    bad("address", `missing: mode ${mode} needs the host's address on the bridge, such as 192.0.2.1/24`);

  if (values.dhcp_range !== undefined && net.address) {
    const [first, last, extra] = values.dhcp_range.split(",").map((s) => s.trim());
    const a = net.address;
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
    } else net.dhcpRange = { first, last };
  }

  if (needsAddress) Object.assign(net, validateIpv6(name, values, bad));
  if (net.address6 && values.dhcp_range === undefined)
    bad("address6", "needs dhcp_range (router advertisements come from the network's dnsmasq, which runs with DHCP)");

  for (const key of ["uplink", "trunk"] as const) {
    if (values[key] === undefined) continue;
    const why = badName(values[key]!);
    if (why) bad(key, why);
    else net[key] = values[key];
  }
  if (values.snat_to !== undefined) {
    if (isIPv4(values.snat_to)) net.snatTo = values.snat_to;
    else bad("snat_to", `${show(values.snat_to)} is not an IPv4 address`);
  }

  for (const key of Object.keys(values).filter((k) => k.startsWith("host."))) {
    const host = parseHost(key, values[key]!, net, bad);
    if (host) net.hosts.push(host);
  }
  if (values.publish !== undefined && mode === "nat") {
    const published = validatePublish(values.publish, net.address, net.hosts, (m) => bad("publish", m));
    if (published.length) net.publish = published;
  }
  if (net.hosts.length > 0 && values.dhcp_range === undefined)
    bad(
      Object.keys(values).find((k) => k.startsWith("host."))!,
      "static leases need dhcp_range (DHCP runs only with a range)",
    );

  if (values.taps !== undefined) {
    net.taps = values.taps
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const wrong = net.taps.find((g) => !GLOB.test(g) || g.length > 64);
    if (wrong !== undefined || net.taps.length === 0)
      bad("taps", `${show(wrong ?? values.taps)} is not a list of interface-name globs such as vnet*, lab-*`);
  }
  if (values.guard !== undefined && needsAddress) {
    const b = parseBool(values.guard);
    if (b === null) bad("guard", `${show(values.guard)} is not yes or no (nor true/false, on/off, 1/0)`);
    else if (b && values.dhcp_range === undefined)
      bad("guard", "needs dhcp_range (a guarded guest may send only from the addresses its leases give it)");
    else if (b) net.guard = true;
  }
  for (const [key, field] of [
    ["default", "isDefault"],
    ["autostart", "autostart"],
  ] as const) {
    if (values[key] === undefined) continue;
    const b = parseBool(values[key]!);
    if (b === null) bad(key, `${show(values[key]!)} is not yes or no (nor true/false, on/off, 1/0)`);
    else net[field] = b;
  }
  if (values.mtu !== undefined) {
    const n = Number(values.mtu);
    if (!/^\d+$/.test(values.mtu) || n < 68 || n > 65535)
      bad("mtu", `${show(values.mtu)} is not an MTU between 68 and 65535`);
    else net.mtu = n;
  }
  if (mode !== "bridge") Object.assign(net, validateVxlan(mode, values, bad));
  if (values.teardown !== undefined) {
    if (values.teardown === "keep" || values.teardown === "when-idle") net.teardown = values.teardown;
    else bad("teardown", `${show(values.teardown)} is not keep or when-idle`);
  }
  if (mode === "bridge") validateVlan(values, net, bad);
  else net.policy = validatePolicy(values, bad);
  if (values.domain !== undefined && needsAddress) {
    const why = badDomain(values.domain);
    if (why) bad("domain", why);
    else if (values.dhcp_range === undefined)
      bad("domain", "needs dhcp_range (the network's DNS is served by its dnsmasq, which runs with DHCP)");
    else net.domain = values.domain;
  }
  if (needsAddress) Object.assign(net, validateDns(values, values.dhcp_range !== undefined, net.domain, bad));
  if (needsAddress) Object.assign(net, validateBoot(values, values.dhcp_range !== undefined, bad));
  net.allow = validateAllow(values, bad);
  return out.length === before ? finish(net) : null;
}

// The network as it is being validated: every key any mode may have.
interface Draft {
  name: string;
  mode: Mode;
  bridge: string;
  hosts: StaticHost[];
  taps: string[];
  isDefault: boolean;
  teardown: "keep" | "when-idle";
  autostart: boolean;
  lines: Record<string, number>;
  mtu?: number;
  address?: Cidr;
  dhcpRange?: { first: string; last: string };
  address6?: Cidr6;
  dhcp6Range?: { first: string; last: string };
  guard?: boolean;
  uplink?: string;
  trunk?: string;
  snatTo?: string;
  publish?: Published[];
  vlan?: number;
  domain?: string;
  dns?: DnsSettings;
  dhcpOptions?: DhcpOption[];
  boot?: NetBoot;
  vxlan?: Vxlan;
  role?: "gateway" | "member";
  policy?: Policy;
  allow?: Allow;
}

// The validated draft as the network of its mode, with only the keys that mode has (and only those set).
function finish(d: Draft): Network {
  const common = defined({
    name: d.name,
    bridge: d.bridge,
    hosts: d.hosts,
    taps: d.taps,
    isDefault: d.isDefault,
    teardown: d.teardown,
    autostart: d.autostart,
    lines: d.lines,
    mtu: d.mtu,
    vxlan: d.vxlan,
    role: d.role,
    policy: d.policy,
    allow: d.allow,
  });
  // A member host of a network across hosts only bridges its guests onto the VXLAN (src/config/vxlan.ts).
  if (d.role === "member" && d.mode !== "isolated" && d.mode !== "bridge")
    return { ...common, hosts: [], mode: "isolated", memberOf: d.mode };
  const addressed = () => ({
    ...common,
    address: need(d.address),
    ...defined({
      dhcpRange: d.dhcpRange,
      address6: d.address6,
      dhcp6Range: d.dhcp6Range,
      guard: d.guard,
      domain: d.domain,
      dns: d.dns,
      dhcpOptions: d.dhcpOptions,
      boot: d.boot,
    }),
  });
  switch (d.mode) {
    case "nat":
      return { ...addressed(), mode: "nat", ...defined({ uplink: d.uplink, snatTo: d.snatTo, publish: d.publish }) };
    case "routed":
      return { ...addressed(), mode: "routed", ...defined({ uplink: d.uplink }) };
    case "host-only":
      return { ...addressed(), mode: "host-only" };
    case "isolated":
      return { ...common, mode: "isolated" };
    case "bridge":
      if (d.vlan !== undefined) return { ...common, mode: "bridge", vlan: d.vlan, trunk: need(d.trunk) };
      return { ...common, mode: "bridge", ...defined({ uplink: d.uplink }) };
  }
}

// O without its undefined values (a network has a key only when it is set).
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// A value validation guarantees (its absence was reported as a problem, and then no network is made).
function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("kvmnet: internal error: a validated network lacks a key its mode needs");
  return v;
}

function parseHost(key: string, value: string, net: Draft, bad: (k: string, m: string) => void) {
  const name = key.slice("host.".length);
  if (!HOSTNAME.test(name)) {
    bad(key, `${show(name)} is not a host name (letters, digits, inner hyphens)`);
    return null;
  }
  const [mac, ip, extra] = value.split(",").map((s) => s.trim());
  if (!mac || !ip || extra !== undefined || !MAC.test(mac)) {
    bad(key, `${show(value)} is not MAC,IP such as 52:54:00:88:88:88,192.0.2.10`);
    return null;
  }
  if (parseInt(mac.slice(0, 2), 16) & 1) {
    bad(key, `${mac} is a multicast MAC address`);
    return null;
  }
  if (!isIPv4(ip)) {
    bad(key, `${show(ip)} is not an IPv4 address`);
    return null;
  }
  const a = net.address;
  if (a && (!contains(a, ip) || isNetworkOrBroadcast(a, ip) || ip === a.address)) {
    bad(key, `${ip} is not a free guest address in ${a.address}/${a.prefix}`);
    return null;
  }
  const clash = net.hosts.find((h) => h.mac.toLowerCase() === mac.toLowerCase() || h.ip === ip);
  if (clash) {
    bad(key, `MAC or IP already given to host.${clash.name}`);
    return null;
  }
  return { name, mac: mac.toLowerCase(), ip };
}

function validateVlan(values: Record<string, string>, net: Draft, bad: (k: string, m: string) => void) {
  if (values.vlan === undefined) {
    if (values.trunk !== undefined) bad("trunk", "needs vlan = 1..4094");
    return;
  }
  const n = Number(values.vlan);
  if (!/^\d+$/.test(values.vlan) || n < 1 || n > 4094) {
    bad("vlan", `${show(values.vlan)} is not a VLAN id 1..4094`);
    return;
  }
  if (values.trunk === undefined) {
    bad("vlan", "needs trunk = the NIC that carries the tagged VLANs");
    return;
  }
  if (values.uplink !== undefined)
    bad("uplink", "not used with vlan: trunk names the NIC, and the bridge carries TRUNK.VLAN");
  net.vlan = n;
  const sub = `${values.trunk}.${n}`;
  if (sub.length > 15) bad("trunk", `the VLAN interface name ${sub} would be over 15 characters`);
}
