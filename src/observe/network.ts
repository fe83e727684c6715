// One observation of everything a network consists of, taken before deciding what to change.
import { readFileSync } from "node:fs";
import type { Exec } from "../apply/exec.js";
import type { Config, Network } from "../config/types.js";
import { renderDnsmasq } from "../render/dnsmasq.js";
import { forwardPolicy } from "../render/policy.js";
import { observeDnsmasq, type DnsmasqState } from "./dnsmasq.js";
import { observeFirewall, type FirewallState } from "./firewall.js";
import { readAddresses, readLink, type Link } from "./links.js";
import { procHasAddress } from "./routes.js";
import { strayTaps } from "./strays.js";

/** The state of a network on this host. */
export interface Observed {
  bridge: Link | null;
  bridgeAddrs: string[];
  tap: Link | null;
  forwarding: boolean;
  /** null when the network needs no rules. */
  firewall: FirewallState | null;
  /** null when the network runs no DHCP. */
  dnsmasq: DnsmasqState | null;
  /** When the bridge is missing: running taps matching the network's globs that are on no bridge. */
  strays?: Link[];
}

/** Observe NET (and TAP when given). Spawns at most one process: the firewall listing. */
export function observeNetwork(exec: Exec, config: Config, net: Network, tap?: string): Observed {
  const bridge = readLink(net.bridge);
  const bridgeAddrs = bridge ? (readAddresses().get(net.bridge) ?? []) : [];
  const a = net.address;
  if (
    bridge &&
    a &&
    !bridgeAddrs.includes(`${a.address}/${a.prefix}`) &&
    procHasAddress(net.bridge, a.address, a.prefix)
  ) {
    bridgeAddrs.push(`${a.address}/${a.prefix}`);
  }
  return {
    bridge,
    bridgeAddrs,
    tap: tap ? readLink(tap) : null,
    forwarding: readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() === "1",
    firewall: forwardPolicy(net) ? observeFirewall(exec, config.firewall, net) : null,
    dnsmasq: renderDnsmasq(config, net) ? observeDnsmasq(config, net) : null,
    strays: bridge ? [] : strayTaps(config, net),
  };
}
