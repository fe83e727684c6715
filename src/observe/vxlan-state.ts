// What a network across hosts has on this host: its VXLAN device, the flood entries towards its static peers, and
// the underlay guard table. On the warm path (all in place) this reads sysfs only: the device's alias records what
// it was made with and a digest of the peers it floods to, so `bridge fdb show` and `nft list table` run only
// when something differs, or for `kvmnet up` (which checks the host for real).
import { readFileSync } from "node:fs";
import type { Exec } from "../host/exec.js";
import type { Network, Vxlan } from "../config/types.js";
import type { Intent } from "../intent.js";
import { readLink, type Link } from "./links.js";
import { networkInterfaces } from "node:os";
import { vxlanAlias, wantedPeers } from "../render/vxlan-text.js";
import { sideTables } from "../firewall/side-tables-chosen.js";
import { vxlanDevName } from "../core/names.js";

/** The VXLAN side of a network as found. */
export interface VxlanObserved {
  /** The VXLAN device, as sysfs shows it (null: missing). */
  link: Link | null;
  /** Its alias (ifalias): kvmnet's own records what the device was made with. */
  alias: string;
  /** The underlay interface (null: missing). */
  underlay: Link | null;
  /** The underlay's addresses (both families), from getifaddrs. */
  underlayAddrs: string[];
  /** Destinations of the device's all-zeros flood entries, by `bridge fdb show` (null: not looked at). */
  flood: string[] | null;
  /** The guests' MACs the device learnt, each with the peer it is behind (read with the flood entries). */
  learned?: Learned[];
  /** The comment of the guard table (its digest); null: no such table; undefined: not looked at. */
  guard?: string | null;
  /** evpn: FRR's running config (`vtysh -c 'show running-config'`); null: FRR does not answer; undefined: not
   *  looked at. */
  frr?: string | null;
}

/** Observe NET's VXLAN side (null for a network on one host). */
export function observeVxlan(exec: Exec, net: Network, intent: Intent): VxlanObserved | null {
  const vx = net.vxlan;
  if (!vx) return null;
  const name = vxlanDevName(vx);
  const link = readLink(name);
  const alias = link ? readAlias(name) : "";
  const underlayAddrs = addressesOf(vx.dev);
  const obs: VxlanObserved = { link, alias, underlay: readLink(vx.dev), underlayAddrs, flood: null };
  const looking = intent.action === "up" || intent.action === "down";
  const current = alias === vxlanAlias(net, vx, wantedPeers(vx, underlayAddrs), localOf(vx, underlayAddrs));
  if (link && !vx.evpn && (looking || !current)) {
    const fdb = readFdb(exec, name);
    obs.flood = parseFlood(fdb);
    obs.learned = parseLearned(fdb);
  }
  if (looking || !current) obs.guard = sideTables.readVxlanGuard(exec, net);
  if (vx.evpn && (looking || !current)) obs.frr = readFrr(exec);
  return obs;
}

/** This host's underlay address: vxlan_local, else the underlay's first address of the peers' family (IPv4
 *  when there are none); null when it has none. */
export function localOf(vx: Vxlan, underlayAddrs: string[]): string | null {
  if (vx.local) return vx.local;
  const six = vx.peers.some((p) => p.includes(":"));
  return underlayAddrs.find((a) => a.includes(":") === six && !a.startsWith("fe80")) ?? null;
}

function readAlias(dev: string): string {
  try {
    return readFileSync(`/sys/class/net/${dev}/ifalias`, "utf8").trim();
  } catch {
    return "";
  }
}

function addressesOf(dev: string): string[] {
  return (networkInterfaces()[dev] ?? []).map((a) => a.address);
}

// The device's forwarding entries: flood ones (`00:00:00:00:00:00 dst 203.0.113.2 self permanent`) and learned
// ones (`52:54:00:12:34:56 dst 203.0.113.2 self`).
function readFdb(exec: Exec, dev: string): string {
  const r = exec.tryRun("bridge", ["fdb", "show", "dev", dev]);
  return r.ok ? r.stdout : "";
}

/** A MAC a VXLAN device learnt, and the peer (underlay address) it is behind. */
export interface Learned {
  mac: string;
  dst: string;
}

/** The learned entries in `bridge fdb show` output of a VXLAN device: a MAC with a dst, neither the flood entry nor
 *  one added by hand or by FRR (permanent, static, extern_learn). */
export function parseLearned(text: string): Learned[] {
  const out: Learned[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f:]{17}) dst (\S+)(.*)$/.exec(line.trim());
    if (!m || m[1] === "00:00:00:00:00:00" || /\b(permanent|static|extern_learn)\b/.test(m[3]!)) continue;
    out.push({ mac: m[1]!, dst: m[2]! });
  }
  return out;
}

/** The destinations of the all-zeros entries in `bridge fdb show` output. */
export function parseFlood(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^00:00:00:00:00:00 dst (\S+)/.exec(line.trim());
    if (m) out.push(m[1]!);
  }
  return out;
}

function readFrr(exec: Exec): string | null {
  const r = exec.tryRun("vtysh", ["-c", "show running-config"]);
  return r.ok ? r.stdout : null;
}
