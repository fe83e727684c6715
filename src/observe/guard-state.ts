// What the per-VM guard (guard = yes) of a network looks like on the host: its records in state_dir (which tap has
// which guest MAC, the MAC . IPv4 pairs leases gave) and, when converging to up, the bridge table itself.
import { readFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import type { Exec } from "../host/exec.js";
import { dnsmasqFiles, guardFiles } from "../core/names.js";
import { readLink, type Link } from "./links.js";
import { sideTables, type GuardTable } from "../firewall/side-tables-chosen.js";

/** A recorded tap and its interface now (null: gone). */
export interface GuardTap {
  tap: string;
  mac: string;
  link: Link | null;
}

export type { GuardTable } from "../firewall/side-tables-chosen.js";

/** The guard of one network. TABLE: null when there is none, undefined when not looked at (a hook). */
export interface GuardObserved {
  taps: GuardTap[];
  /** The lease record's pairs, and (converging to up) those of dnsmasq's own lease file. */
  /** Taps of NET's bridge guarded in the table but not in the record (by a kvmnet that kept none): their MAC is
   *  read back from their chain's first rule. */
  unrecorded?: GuardTap[];
  leases: { mac: string; ip: string }[];
  table?: GuardTable | null;
  /** The host's name: the gateway's link-local address the rules protect derives from the bridge's MAC. */
  hostName: string;
}

// Lines of two words; a missing file is an empty record.
function readPairs(path: string): [string, string][] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((w): w is [string, string] => w.length === 2);
}

/** The lease record of NET: MAC . IPv4 pairs, as the lease events left it. */
export function readGuardLeases(config: Config, net: Network): { mac: string; ip: string }[] {
  return readPairs(guardFiles(config, net).leases).map(([mac, ip]) => ({ mac, ip }));
}

/** The MAC . IPv4 pairs of dnsmasq's lease file TEXT (`EXPIRY MAC IP NAME CLIENTID` lines; DHCPv6 leases, with
 *  an IAID instead of a MAC, are skipped). */
export function dnsmasqLeasePairs(text: string): { mac: string; ip: string }[] {
  return text.split("\n").flatMap((l) => {
    const [, mac = "", ip = ""] = l.trim().split(/\s+/);
    return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? [{ mac, ip }] : [];
  });
}

// The leases dnsmasq itself keeps: they cover what the lease record may lack (a kvmnet that kept no record wrote
// the pairs into the set only; dnsmasq reads its leases back at its start).
function dnsmasqLeases(config: Config, net: Network): { mac: string; ip: string }[] {
  try {
    return dnsmasqLeasePairs(readFileSync(dnsmasqFiles(config, net).leases, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** The guarded network a lease event is about and its lease record (NET null: no guarded network has the event's
 *  bridge, so there is nothing to record). */
export interface LeaseRecord {
  config: Config;
  net: Network | null;
  leases: { mac: string; ip: string }[];
}

/** The lease record of CONFIG's guarded network on BRIDGE (the interface dnsmasq reports a lease event on). */
export function observeLeaseRecord(config: Config, bridge: string): LeaseRecord {
  const net = config.networks.find((n) => n.guard && n.bridge === bridge) ?? null;
  return { config, net, leases: net ? readGuardLeases(config, net) : [] };
}

/** NET's guard records, and its table when TABLE (one `nft list`), on the host HOSTNAME. */
export function observeGuard(
  exec: Exec,
  config: Config,
  net: Network,
  table: boolean,
  hostName: string,
): GuardObserved | null {
  if (!net.guard) return null;
  const taps = readPairs(guardFiles(config, net).taps).map(([tap, mac]) => ({ tap, mac, link: readLink(tap) }));
  const obs: GuardObserved = { taps, leases: readGuardLeases(config, net), hostName };
  if (!table) return obs;
  const seen = new Set(obs.leases.map((l) => `${l.mac} ${l.ip}`));
  obs.leases.push(...dnsmasqLeases(config, net).filter((l) => !seen.has(`${l.mac} ${l.ip}`)));
  const found = (obs.table = sideTables.readGuard(exec));
  obs.unrecorded = Object.keys(found?.map ?? {}).flatMap((tap): GuardTap[] => {
    const mac = sideTables.guardedMac(found!, tap);
    const link = taps.some((t) => t.tap === tap) || !mac ? null : readLink(tap);
    return link?.master === net.bridge ? [{ tap, mac: mac!, link }] : [];
  });
  return obs;
}
