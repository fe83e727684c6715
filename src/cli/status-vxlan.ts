// `kvmnet status` for a network across hosts: its VXLAN device and its peers, static (with their flood entries)
// or learnt by BGP EVPN (FRR's sessions with their state, and the VTEPs FRR installed). Called from status.ts and
// status-view.ts.
import type { Exec } from "../host/exec.js";
import type { Network } from "../config/types.js";
import { isOurVxlan } from "../decide/vxlan-steps.js";
import { localOf, parseFlood, type VxlanObserved } from "../observe/vxlan-state.js";
import { vxlanAlias, wantedPeers } from "../render/vxlan-text.js";
import type { Paint } from "./output.js";
import { vxlanDevName } from "../core/names.js";

/** One peer as status shows it. */
export interface VxlanPeerStatus {
  address: string;
  /** static: from vxlan_peers; bgp: a BGP session of FRR's; vtep: a VTEP FRR installed a flood entry for. */
  source: "static" | "bgp" | "vtep";
  /** static: "flood entry" or "missing"; bgp: the session's state (Established, Active, ...); vtep: "flood entry". */
  state: string;
}

/** The VXLAN side of a network, as `kvmnet status --json` prints it. */
export interface VxlanStatus {
  vni: number;
  device: string;
  underlay: string;
  local: string | null;
  role: "gateway" | "member" | null;
  /** in-place: made by kvmnet as configured; outdated: made otherwise (kvmnet up remakes it); foreign: not kvmnet's. */
  state: "in-place" | "missing" | "outdated" | "foreign";
  evpn: boolean;
  peers: VxlanPeerStatus[];
}

/** NET's VXLAN status from the observation OBS (taken for `up`: the flood entries were read), or null. */
export function vxlanStatus(net: Network, obs: VxlanObserved | null | undefined, exec: Exec): VxlanStatus | null {
  const vx = net.vxlan;
  if (!vx || !obs) return null;
  const local = localOf(vx, obs.underlayAddrs);
  const want = wantedPeers(vx, obs.underlayAddrs);
  const state: VxlanStatus["state"] = !obs.link
    ? "missing"
    : !isOurVxlan(net, obs.alias)
      ? "foreign"
      : obs.alias === vxlanAlias(net, vx, want, local) && obs.link.master === net.bridge
        ? "in-place"
        : "outdated";
  const base = { vni: vx.id, device: vxlanDevName(vx), underlay: vx.dev, local, role: net.role ?? null, state };
  if (!vx.evpn) {
    const have = obs.flood ?? [];
    const peers = want.map((address): VxlanPeerStatus => ({
      address,
      source: "static",
      state: have.includes(address) ? "flood entry" : "missing",
    }));
    return { ...base, evpn: false, peers };
  }
  const sessions = bgpSessions(exec);
  const vteps = obs.link ? floodOf(exec, vxlanDevName(vx)) : [];
  return {
    ...base,
    evpn: true,
    peers: [
      ...sessions.map(([address, st]): VxlanPeerStatus => ({ address, source: "bgp", state: st })),
      ...vteps.map((address): VxlanPeerStatus => ({ address, source: "vtep", state: "flood entry" })),
    ],
  };
}

/** FRR's l2vpn evpn sessions: [neighbour, state]; [] when FRR does not answer. */
export function bgpSessions(exec: Exec): [string, string][] {
  const r = exec.tryRun("vtysh", ["-c", "show bgp l2vpn evpn summary json"]);
  if (!r.ok) return [];
  try {
    const j = JSON.parse(r.stdout) as { peers?: Record<string, { state?: string }> };
    return Object.entries(j.peers ?? {}).map(([a, p]) => [a, p.state ?? "unknown"]);
  } catch {
    return [];
  }
}

function floodOf(exec: Exec, dev: string): string[] {
  const r = exec.tryRun("bridge", ["fdb", "show", "dev", dev]);
  return r.ok ? parseFlood(r.stdout) : [];
}

/** The lines `kvmnet status` draws for the VXLAN side. */
export function drawVxlan(v: VxlanStatus | null | undefined, p: Paint): string[] {
  if (!v) return [];
  const st = v.state === "in-place" ? p.ok("in place") : p.warn(v.state);
  const role = v.role ? `, ${v.role}` : "";
  const lines = [
    `  vxlan     ${v.device} vni ${v.vni} over ${v.underlay}${v.local ? ` from ${v.local}` : ""}${role}: ${st}${v.evpn ? " (BGP EVPN)" : ""}`,
  ];
  for (const peer of v.peers) {
    const ok = peer.state === "flood entry" || peer.state === "Established";
    lines.push(`  peer      ${peer.address.padEnd(15)}  ${peer.source}  ${ok ? p.ok(peer.state) : p.warn(peer.state)}`);
  }
  if (!v.peers.length) lines.push(`  peer      ${p.dim("none")}`);
  return lines;
}
