// Names and texts of what kvmnet makes for a network across hosts: the VXLAN device (named by its VNI) and its alias
// (what it was made with, read back from sysfs). The underlay guard's nft table is src/firewall/nft/vxlan-guard.ts.
import type { Network, Vxlan } from "../config/types.js";
import { sha256Hex } from "../core/sha256.js";

/** The static peers to flood to: the configured ones but this host's own underlay addresses. */
export function wantedPeers(vx: Vxlan, ownAddrs: string[]): string[] {
  return vx.evpn ? [] : vx.peers.filter((p) => !ownAddrs.includes(p) && p !== vx.local);
}

/** The device part of the alias: what `ip link add` made it with (a difference means remaking it). */
export function vxlanDeviceAlias(net: Network, vx: Vxlan, local: string | null): string {
  const mode = vx.evpn ? "evpn" : "static";
  // One word (no spaces): `ip -batch` and kvmnet's single `ip` line split on them.
  return `kvmnet:${net.name},vni=${vx.id},port=${vx.port},dev=${vx.dev},local=${local ?? "any"},${mode}`;
}

/** The whole alias: the device part, then a digest of PEERS (the flood entries it has been given). */
export function vxlanAlias(net: Network, vx: Vxlan, peers: string[], local: string | null): string {
  const base = vxlanDeviceAlias(net, vx, local);
  return vx.evpn ? base : `${base},peers=${digest([...peers].sort().join(","))}`;
}

function digest(text: string): string {
  return sha256Hex(text).slice(0, 12);
}
