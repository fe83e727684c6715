// Names and paths of everything kvmnet creates for a network: one place, so teardown finds exactly these.
import { createHash } from "node:crypto";
import type { Config, Network } from "../config/types.js";

/** nft table of a network. */
export function nftTable(net: Network): string {
  return `kvmnet-${net.name}`;
}

/** Prefix of every network's forward-in chain: all of them are jumped to before any forward-out chain. */
export const FORWARD_IN_PREFIX = "KVMNET-FWI-";

/** Prefix of every network's forward-out chain. */
export const FORWARD_OUT_PREFIX = "KVMNET-FWO-";

/** iptables chains of a network: input, forward-in (to the bridge), forward-out (from it), postrouting. */
export function iptablesChains(net: Network) {
  return {
    input: `KVMNET-INP-${net.name}`,
    forwardIn: `${FORWARD_IN_PREFIX}${net.name}`,
    forwardOut: `${FORWARD_OUT_PREFIX}${net.name}`,
    postrouting: `KVMNET-PRT-${net.name}`,
  };
}

/** The fixed MAC address of a bridge kvmnet creates: locally administered, derived from the network name.
 *  It also marks the bridge as kvmnet's: it is set in the same netlink message that creates the bridge. */
export function bridgeMac(net: Network): string {
  const h = createHash("sha256").update(`kvmnet:${net.name}`).digest();
  return ["02", "6b", "76", h[0]!, h[1]!, h[2]!].map((b) => (typeof b === "number" ? b.toString(16).padStart(2, "0") : b)).join(":");
}

/** The alias kvmnet writes on bridges it created, for humans reading `ip -d link`. */
export function bridgeAlias(net: Network): string {
  return `kvmnet:${net.name}`;
}

/** Files of a network's dnsmasq. */
export function dnsmasqFiles(config: Config, net: Network) {
  const s = `${config.stateDir}/${net.name}`;
  return {
    conf: `${s}.dnsmasq.conf`,
    // Written by kvmnet (root's), not by dnsmasq: the daemon's pid, and the ifindex of the bridge it serves.
    pid: `${s}.dnsmasq.pid`,
    ifindex: `${s}.dnsmasq.ifindex`,
    hosts: `${s}.hostsfile`,
    addnHosts: `${s}.addnhosts`,
    leases: `${config.leaseDir}/${net.name}.leases`,
  };
}
