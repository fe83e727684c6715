// What the modes need to know beyond the common snapshot (observe/snapshot.ts): IPv6 on the bridge, whether it
// takes router advertisements, and the VLAN port and trunk of a VLAN network. Read from /proc and /sys only.
import { existsSync, readFileSync } from "node:fs";
import type { Network } from "../config/types.js";
import { readLink, type Link } from "./links.js";
import { vlanPortOf } from "../core/names.js";

/** The VLAN sub-interface TRUNK.VID as found. */
export interface VlanPort {
  link: Link;
  /** VLAN id and lower device from /proc/net/vlan; null when the interface is no VLAN device. */
  vid: number | null;
  lower: string | null;
  /** Its alias (ifalias), which marks the ones kvmnet created. */
  alias: string;
}

/** Mode-specific observations. */
export interface ModeObserved {
  /** The host has IPv6 (so each interface has /proc/sys/net/ipv6/conf/IF). */
  ipv6: boolean;
  /** disable_ipv6 of the bridge: true, false, or null when the bridge (or IPv6) is missing. */
  bridgeIpv6Off: boolean | null;
  /** accept_ra and autoconf of the bridge as /proc shows them ("0", "1", "2"), or null when the bridge (or IPv6)
   *  is missing; absent: not looked at. Whether router advertisements on it give the host routes and addresses. */
  bridgeAcceptRa?: string | null;
  bridgeAutoconf?: string | null;
  /** VLAN networks only: the trunk and the TRUNK.VID port (null when missing). */
  trunk?: Link | null;
  vlanPort?: VlanPort | null;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The VLAN sub-interface NAME as found, or null when there is no such interface. */
export function readVlanPort(name: string): VlanPort | null {
  const link = readLink(name);
  if (!link) return null;
  const text = readOr(`/proc/net/vlan/${name}`) ?? "";
  const vid = /\bVID: (\d+)/.exec(text);
  const lower = /^Device: (\S+)/m.exec(text);
  return {
    link,
    vid: vid ? Number(vid[1]) : null,
    lower: lower ? lower[1]! : null,
    alias: (readOr(`/sys/class/net/${name}/ifalias`) ?? "").trim(),
  };
}

/** Observe what NET's mode needs beyond the common snapshot. */
export function observeMode(net: Network): ModeObserved {
  const ipv6 = existsSync("/proc/sys/net/ipv6/conf/default");
  const conf = `/proc/sys/net/ipv6/conf/${net.bridge}`;
  const off = ipv6 ? readOr(`${conf}/disable_ipv6`) : null;
  const acceptRa = ipv6 ? readOr(`${conf}/accept_ra`) : null;
  const autoconf = ipv6 ? readOr(`${conf}/autoconf`) : null;
  const out: ModeObserved = {
    ipv6,
    bridgeIpv6Off: off === null ? null : off.trim() === "1",
    bridgeAcceptRa: acceptRa === null ? null : acceptRa.trim(),
    bridgeAutoconf: autoconf === null ? null : autoconf.trim(),
  };
  if (net.vlan !== undefined) {
    out.trunk = readLink(net.trunk);
    out.vlanPort = readVlanPort(vlanPortOf(net));
  }
  return out;
}
