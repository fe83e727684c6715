// A dnsmasq lease event's steps (guard = yes): the guest's MAC . IPv4 pair put into (or taken out of) the guard's
// set, and the network's lease record in state_dir kept in step, from which `kvmnet up`, reapply and watch rebuild
// the set after a flush.
import { isIPv4 } from "../ipv4.js";
import type { LeaseRecord } from "../observe/guard-state.js";
import { sideTables } from "../firewall/side-tables-chosen.js";
import { guardFiles } from "../core/names.js";
import type { Step } from "../core/steps.js";

/** What dnsmasq reported: MAC may send from IP (a lease granted, renewed or read back), or, DEL, no longer. */
export interface LeaseEvent {
  action: string;
  mac: string;
  ip: string;
  del: boolean;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The event dnsmasq's dhcp-script ARGS (`add|old|del MAC IP [HOSTNAME]`) and ENV report, or null when it is none
 *  of the guard's: a DHCPv6 event (a DUID and DNSMASQ_IAID: the IPv6 guard goes by prefix, not by lease), or no
 *  MAC and IPv4 address. The hostname is the guest's own word and is ignored. */
export function parseLeaseEvent(args: string[], env: NodeJS.ProcessEnv): LeaseEvent | null {
  const [action = "", rawMac, ip] = args;
  const mac = rawMac?.toLowerCase() ?? "";
  if (env.DNSMASQ_IAID !== undefined || !MAC.test(mac) || !ip || !isIPv4(ip)) return null;
  return { action, mac, ip, del: action === "del" };
}

/** The steps of EV: the set's element first (one transaction that also makes the table and set when missing),
 *  then the record rewritten when the pair's presence in it changes (RECORD null: the config could not be read,
 *  nothing is recorded). */
export function leaseEventSteps(ev: LeaseEvent, record: LeaseRecord | null): Step[] {
  const steps: Step[] = [{ kind: "nft", script: sideTables.guardIpScript(ev.mac, ev.ip, ev.del) }];
  if (!record?.net) return steps;
  const before = record.leases;
  const after = [...before.filter((l) => l.mac !== ev.mac || l.ip !== ev.ip), ...(ev.del ? [] : [ev])];
  // Unchanged when the pair is (ADD) or is not (DEL) there already, once: a duplicate line is written away.
  const has = before.some((l) => l.mac === ev.mac && l.ip === ev.ip);
  if (after.length === before.length && has === !ev.del) return steps;
  const content = after.map((l) => `${l.mac} ${l.ip}\n`).join("");
  return [...steps, { kind: "write", path: guardFiles(record.config, record.net).leases, content }];
}
