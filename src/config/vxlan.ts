// Validation of the keys that make one network span several hosts (VXLAN with static peers, or BGP EVPN through
// FRR); the per-host sections `[NET@HOSTNAME]` are in host-sections.ts.
import { readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import type { ConfigProblem } from "../errors.js";
import { isIPv4 } from "../ipv4.js";
import { canonical6, isIPv6 } from "../ipv6.js";
import { badName } from "../core/ifname.js";
import { TRAITS } from "../modes.js";
import { parseBool } from "./keys.js";
import type { Mode, Network, Vxlan } from "./types.js";
import { show } from "./value.js";

/** The VXLAN port IANA assigned (RFC 7348), Linux's `dstport` when none is given. */
export const VXLAN_PORT = 4789;

/** VXLAN's encapsulation: outer Ethernet 14 (the underlay MTU excludes it) + IP 20 (IPv6: 40) + UDP 8 + VXLAN 8,
 *  plus the inner Ethernet header 14 that the guests' MTU excludes: 50 over IPv4, 70 over IPv6. */
export function vxlanOverhead(vx: Pick<Vxlan, "peers" | "local">): number {
  const six = [vx.local, ...vx.peers].some((a) => a?.includes(":"));
  return six ? 70 : 50;
}

/** The VXLAN part of a network: the Vxlan, the role, and (when `mtu` is not set) the MTU that fits the underlay. */
export interface VxlanKeys {
  vxlan?: Vxlan;
  role?: "gateway" | "member";
  mtu?: number;
}

type Bad = (key: string, message: string) => void;

/** Validate the VXLAN keys of a network of MODE from VALUES; problems go to BAD. READMTU: the MTU of an interface
 *  on this host, null when it has none (the underlay's MTU gives the network's when `mtu` is not set). */
export function validateVxlan(
  mode: Mode | undefined,
  values: Record<string, string>,
  bad: Bad,
  readMtu: (dev: string) => number | null = sysMtu,
): VxlanKeys {
  const out: VxlanKeys = {};
  const keys = ["vxlan_dev", "vxlan_peers", "vxlan_port", "vxlan_local", "evpn", "evpn_asn", "role"];
  if (values.vxlan_id === undefined) {
    for (const k of keys.filter((k) => values[k] !== undefined)) bad(k, "needs vxlan_id (the network's VNI)");
    return out;
  }
  const id = Number(values.vxlan_id);
  if (!/^\d+$/.test(values.vxlan_id) || id < 1 || id > 16777215)
    bad("vxlan_id", `${show(values.vxlan_id)} is not a VNI 1..16777215`);
  const dev = values.vxlan_dev;
  if (dev === undefined) bad("vxlan_dev", "missing: name the underlay interface the VXLAN runs over, such as eth0");
  else if (badName(dev)) bad("vxlan_dev", badName(dev)!);
  let port = VXLAN_PORT;
  if (values.vxlan_port !== undefined) {
    port = Number(values.vxlan_port);
    if (!/^\d+$/.test(values.vxlan_port) || port < 1 || port > 65535)
      bad("vxlan_port", `${show(values.vxlan_port)} is not a UDP port 1..65535`);
  }
  const { peers, evpn, asn } = peering(values, bad);
  const local = localAddress(values, peers, bad);
  const role = roleOf(mode, values, bad);
  if (role) out.role = role;
  const vx: Vxlan = { id, dev: dev ?? "", port, peers, evpn, ...(local ? { local } : {}), ...(asn ? { asn } : {}) };
  out.vxlan = vx;
  const mtu = underlayMtu(values, vx, readMtu, bad);
  if (mtu !== undefined) out.mtu = mtu;
  return out;
}

// The peers: a static list (vxlan_peers) or learned by BGP EVPN (evpn, with its AS number evpn_asn).
function peering(values: Record<string, string>, bad: Bad): { peers: string[]; evpn: boolean; asn?: number } {
  const evpn = values.evpn === undefined ? false : parseBool(values.evpn);
  if (evpn === null) bad("evpn", `${show(values.evpn!)} is not yes or no`);
  const peers = values.vxlan_peers === undefined ? [] : parsePeers(values.vxlan_peers, bad);
  if (evpn && values.vxlan_peers !== undefined)
    bad("vxlan_peers", "not with evpn = yes: BGP EVPN learns the peers (say one or the other)");
  else if (evpn === false && values.vxlan_peers === undefined)
    bad("vxlan_id", "needs vxlan_peers = the other hosts' underlay addresses, or evpn = yes (peers learned by BGP)");
  let asn: number | undefined;
  if (values.evpn_asn !== undefined) {
    asn = Number(values.evpn_asn);
    if (!evpn) bad("evpn_asn", "only with evpn = yes");
    else if (!/^\d+$/.test(values.evpn_asn) || asn < 1 || asn > 4294967295)
      bad("evpn_asn", `${show(values.evpn_asn)} is not a BGP AS number 1..4294967295`);
  } else if (evpn) bad("evpn", "needs evpn_asn = the AS number of this host's FRR (its router bgp)");
  return { peers, evpn: !!evpn, ...(asn !== undefined ? { asn } : {}) };
}

// vxlan_local: this host's underlay address, of the PEERS' family.
function localAddress(values: Record<string, string>, peers: string[], bad: Bad): string | undefined {
  const l = values.vxlan_local;
  if (l === undefined) return undefined;
  const six = isIPv6(l);
  if (!isIPv4(l) && !six) bad("vxlan_local", `${show(l)} is not an IPv4 or IPv6 address`);
  else if (notAHost(l)) bad("vxlan_local", `${l} is ${notAHost(l)}, not this host's underlay address`);
  else if (peers.length && peers.some((p) => p.includes(":") !== six))
    bad("vxlan_local", `${l} is not of the peers' address family`);
  else return six ? canonical6(l) : l;
  return undefined;
}

// role: the modes with an address have one host that runs it (the gateway) and members that only bridge.
function roleOf(mode: Mode | undefined, values: Record<string, string>, bad: Bad): "gateway" | "member" | undefined {
  if (!mode || !TRAITS[mode].address) return undefined;
  const r = values.role;
  if (r === undefined)
    bad(
      "role",
      `missing: a ${mode} network across hosts needs role = gateway on the one host that runs its address, DHCP and ${TRAITS[mode].nat ? "NAT" : "routing"}, and role = member on the others (see [${"NET"}@HOSTNAME])`,
    );
  else if (r !== "gateway" && r !== "member") bad("role", `${show(r)} is not gateway or member`);
  else return r;
  return undefined;
}

// The network's MTU when `mtu` is not set (what fits the underlay), or a set one checked against the underlay.
function underlayMtu(
  values: Record<string, string>,
  vx: Vxlan,
  readMtu: (dev: string) => number | null,
  bad: Bad,
): number | undefined {
  const dev = vx.dev;
  const underlay = dev && !badName(dev) ? readMtu(dev) : null;
  const room = underlay === null ? null : underlay - vxlanOverhead(vx);
  if (values.mtu === undefined) return room ?? 1500 - vxlanOverhead(vx);
  if (room !== null && /^\d+$/.test(values.mtu) && Number(values.mtu) > room)
    bad(
      "mtu",
      `${values.mtu} does not fit over ${dev} (MTU ${underlay}) with VXLAN's ${vxlanOverhead(vx)} bytes: at most ${room}`,
    );
  return undefined;
}

// A list of the peers' underlay addresses, by commas or spaces; all of one family.
function parsePeers(text: string, bad: (key: string, message: string) => void): string[] {
  const list = text.split(/[\s,]+/).filter(Boolean);
  const out: string[] = [];
  for (const p of list) {
    if (!isIPv4(p) && !isIPv6(p)) {
      bad("vxlan_peers", `${show(p)} is not an IPv4 or IPv6 address`);
      return [];
    }
    const why = notAHost(p);
    if (why) {
      bad("vxlan_peers", `${p} is ${why}, not another host's underlay address`);
      return [];
    }
    out.push(isIPv4(p) ? p : canonical6(p));
  }
  if (out.length === 0) bad("vxlan_peers", "is empty: list the hosts' underlay addresses");
  else if (new Set(out.map((p) => p.includes(":"))).size > 1)
    bad("vxlan_peers", "mixes IPv4 and IPv6: one VXLAN runs over one address family");
  else if (new Set(out).size < out.length) bad("vxlan_peers", "lists an address twice");
  return out;
}

// Why ADDRESS cannot be a VXLAN endpoint (VXLAN unicast goes to one host over a routed underlay), "" if it can.
function notAHost(address: string): string {
  return UNUSABLE[ipaddr.parse(address).range()] ?? "";
}

const UNUSABLE: Record<string, string> = {
  unspecified: "the unspecified address",
  loopback: "a loopback address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  linkLocal: "a link-local address",
  ipv4Mapped: "an IPv4-mapped IPv6 address (write the IPv4 address)",
};

function sysMtu(dev: string): number | null {
  try {
    return Number(readFileSync(`/sys/class/net/${dev}/mtu`, "utf8"));
  } catch {
    return null;
  }
}

/** Push to PROBLEMS each VNI used by two networks (a host has one VXLAN device per VNI). */
export function vxlanCrossCheck(file: string, nets: Network[], problems: ConfigProblem[]): void {
  const byId = new Map<number, Network>();
  for (const n of nets) {
    if (!n.vxlan) continue;
    const m = byId.get(n.vxlan.id);
    if (m)
      problems.push({
        file,
        line: n.lines.vxlan_id ?? 0,
        key: "vxlan_id",
        message: `VNI ${n.vxlan.id} is already that of [${m.name}] (line ${m.lines.vxlan_id})`,
      });
    else byId.set(n.vxlan.id, n);
  }
}

/** Push to PROBLEMS each network of NETS whose vxlan_dev is a bridge of ALL: the VXLAN runs over a NIC, and a
 *  kvmnet bridge as its underlay would loop the network's own frames back into it. */
export function vxlanDevCheck(file: string, nets: Network[], all: Network[], problems: ConfigProblem[]): void {
  for (const n of nets) {
    if (!n.vxlan) continue;
    const m = all.find((b) => b.bridge === n.vxlan!.dev);
    if (!m) continue;
    problems.push({
      file,
      line: n.lines.vxlan_dev ?? 0,
      key: "vxlan_dev",
      message:
        m.name === n.name
          ? `${n.vxlan.dev} is this network's own bridge: name the underlay NIC the VXLAN runs over, such as eth0`
          : `${n.vxlan.dev} is the bridge of [${m.name}] (line ${m.lines.bridge}): name the underlay NIC the VXLAN runs over`,
    });
  }
}
