// The per-VM guard's steps (guard = yes), from its observation: a tap guarded when it is attached and unguarded
// when it leaves, its record kept in state_dir on the way, and, converging to up (kvmnet up, reapply, watch,
// status, plan), the table rebuilt from the records when something removed or emptied it.
import type { Config, Network } from "../config/types.js";
import type { GuardObserved, GuardTap } from "../observe/guard-state.js";
import { sideTables, type TapMac } from "../firewall/side-tables-chosen.js";
import { guardFiles } from "../core/names.js";
import type { Step } from "../core/steps.js";

// The record's text: one "TAP MAC" line per tap, sorted, so that the same taps always give the same file.
const recordText = (taps: TapMac[]) =>
  taps
    .map((t) => `${t.tap} ${t.mac}\n`)
    .sort()
    .join("");

// A write of the tap record when it changes (nothing when it would stay as it is: a hook run twice writes once).
function recordStep(config: Config, net: Network, obs: GuardObserved, taps: TapMac[]): Step[] {
  const text = recordText(taps);
  if (text === recordText(obs.taps)) return [];
  return [{ kind: "write", path: guardFiles(config, net).taps, content: text }];
}

// Recorded taps that still belong to NET: the interface exists and is on NET's bridge or on none (a tap that left
// the bridge with it, about to be attached again). One on another bridge is another network's now.
const ours = (net: Network, t: GuardTap) => t.link !== null && (t.link.master === null || t.link.master === net.bridge);

/** The static and leased pairs of MAC on NET. */
function pairsOf(net: Network, obs: GuardObserved, mac: string): { mac: string; ip: string }[] {
  const statics = net.hosts.filter((h) => h.mac === mac).map((h) => ({ mac, ip: h.ip }));
  return [...statics, ...obs.leases.filter((l) => l.mac === mac)];
}

/** Guarding TAP for the guest MAC before it joins the bridge: its chain with its static leases and those already
 *  recorded, and the record (recorded taps now gone are dropped from it). */
export function guardAttachSteps(config: Config, net: Network, obs: GuardObserved, tap: string, mac: string): Step[] {
  const keep = obs.taps.filter((t) => t.tap !== tap && ours(net, t));
  return [
    sideTables.guardRestore(net, [{ tap, mac }], pairsOf(net, obs, mac), obs.hostName),
    ...recordStep(config, net, obs, [...keep, { tap, mac }]),
  ];
}

/** Unguarding TAP as it leaves: its chain and map element, and its line in the record. */
export function guardDetachSteps(config: Config, net: Network, obs: GuardObserved, tap: string): Step[] {
  const keep = obs.taps.filter((t) => t.tap !== tap && ours(net, t));
  return [sideTables.guardDown(tap), ...recordStep(config, net, obs, keep)];
}

/** Converging to up: the guard of every recorded tap that is still NET's, rebuilt in one transaction when its
 *  table, chain, map element or one of its pairs is missing or outdated; taps gone are dropped from the record
 *  (and their chains removed). [] when all is in place. */
export function guardUpSteps(config: Config, net: Network, obs: GuardObserved): Step[] {
  const t = obs.table;
  const keep = [...obs.taps, ...(obs.unrecorded ?? [])].filter((x) => ours(net, x));
  const gone = obs.taps.filter((x) => x.link === null);
  const pairs = [...new Map(keep.flatMap((x) => pairsOf(net, obs, x.mac)).map((p) => [`${p.mac} . ${p.ip}`, p]))];
  const inPlace = (x: TapMac) => !!t && sideTables.guardInPlace(t, net, x, obs.hostName);
  const whole = !!t && sideTables.guardDispatches(t) && keep.every(inPlace) && pairs.every(([k]) => t.ips.has(k));
  const steps: Step[] = [];
  if (keep.length && !whole)
    steps.push(
      sideTables.guardRestore(
        net,
        keep,
        pairs.map(([, p]) => p),
        obs.hostName,
      ),
    );
  for (const x of gone) if (t && sideTables.guardHolds(t, x.tap)) steps.push(sideTables.guardDown(x.tap));
  return [...steps, ...recordStep(config, net, obs, keep)];
}
