// The validated configuration: what the rest of kvmnet works from.
import type { Cidr } from "../ipv4.js";

/** Network modes of the contract. */
export type Mode = "nat" | "routed" | "host-only" | "isolated" | "bridge";
/** All modes, in the order the contract lists them. */
export const MODES: readonly Mode[] = ["nat", "routed", "host-only", "isolated", "bridge"];

/** Firewall backends. */
export type Firewall = "nftables" | "iptables";

/** A `host.NAME = MAC,IP` static lease. */
export interface StaticHost {
  name: string;
  mac: string;
  ip: string;
}

/** One `[section]` other than `[global]`. */
export interface Network {
  name: string;
  mode: Mode;
  bridge: string;
  address?: Cidr;
  dhcpRange?: { first: string; last: string };
  uplink?: string;
  snatTo?: string;
  hosts: StaticHost[];
  taps: string[];
  isDefault: boolean;
  mtu?: number;
  teardown: "keep" | "when-idle";
  autostart: boolean;
  vlan?: number;
  trunk?: string;
  /** DNS domain of the guests' names (dnsmasq domain=, local=, expand-hosts; DHCP options 15 and 119). */
  domain?: string;
  /** Line of each key (and "[section]" for the header), for error messages. */
  lines: Record<string, number>;
}

/** The whole file, validated. */
export interface Config {
  file: string;
  firewall: Firewall;
  stateDir: string;
  leaseDir: string;
  networks: Network[];
}
