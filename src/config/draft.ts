// A network section as it is being validated (every key any mode may have), and the typed network of its mode
// it becomes once no problem was found.
import type { Cidr } from "../ipv4.js";
import type { Cidr6 } from "../ipv6.js";
import { TRAITS } from "../modes.js";
import type { DhcpOption, DnsSettings, Mode, NetBoot, Network, Policy, Published, StaticHost, Vxlan } from "./types.js";

/** The network as it is being validated: every key any mode may have. */
export interface Draft {
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
}

/** A draft with the defaults of every network: section NAME of MODE, with the line of each key. */
export function newDraft(name: string, mode: Mode, bridge: string, lines: Record<string, number>): Draft {
  return { name, mode, bridge, hosts: [], taps: [], isDefault: false, teardown: "keep", autostart: false, lines };
}

/** The validated draft as the network of its mode, with only the keys that mode has (and only those set). */
export function finish(d: Draft): Network {
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
  });
  // A member host of a network across hosts only bridges its guests onto the VXLAN (src/config/vxlan.ts).
  if (d.role === "member" && spansWithRoles(d.mode))
    return { ...common, hosts: [], mode: "isolated", memberOf: d.mode };
  switch (d.mode) {
    case "nat":
      return {
        ...addressed(common, d),
        mode: "nat",
        ...defined({ uplink: d.uplink, snatTo: d.snatTo, publish: d.publish }),
      };
    case "routed":
      return { ...addressed(common, d), mode: "routed", ...defined({ uplink: d.uplink }) };
    case "host-only":
      return { ...addressed(common, d), mode: "host-only" };
    case "isolated":
      return { ...common, mode: "isolated" };
    case "bridge":
      if (d.vlan !== undefined) return { ...common, mode: "bridge", vlan: d.vlan, trunk: need(d.trunk) };
      return { ...common, mode: "bridge", ...defined({ uplink: d.uplink }) };
  }
}

// The modes whose networks across hosts have one gateway and members: those with an address (they take `role`).
function spansWithRoles(mode: Mode): mode is NonNullable<Network["memberOf"]> {
  return TRAITS[mode].address;
}

// COMMON with the keys of a network where the host has an address on the bridge.
function addressed<T extends object>(common: T, d: Draft) {
  return {
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
  };
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
