// Deciding a network's per-port policy on its running taps: the bridge port flag `isolated` (port_isolation) and
// the bandwidth limits (rate), from the observation of observe/ports-state.ts. Only the difference is planned: a tap whose
// flag and limits are as wanted gets no step. The uplink and VXLAN ports are never among the ports looked at.
import { portPolicy } from "../config/policy-keys.js";
import type { Network } from "../config/types.js";
import type { PortsObserved } from "../observe/ports-state.js";
import {
  ifbAlias,
  ifbName,
  rateAlias,
  recordsRate,
  REDIRECT_PREF,
  redirectLines,
  shaperLines,
  unshapeLines,
} from "../render/tc.js";
import type { Step } from "../core/steps.js";

// tc keeps a rate in bytes per second.
const asTc = (bits: number) => Math.floor(bits / 8) * 8;

/** The `ip` line that sets TAP's bridge port flag `isolated`. */
export function isolationLine(tap: string, on: boolean): string {
  return `link set dev ${tap} type bridge_slave isolated ${on ? "on" : "off"}`;
}

/** ip lines that give each of TAPS on NET's bridge (BRIDGEPORTS) the isolation flag its policy wants. */
export function isolationLines(net: Network, obs: PortsObserved, taps: string[], bridgePorts: string[]): string[] {
  return taps
    .filter((t) => bridgePorts.includes(t) && obs.ports[t])
    .filter((t) => obs.ports[t]!.isolated !== portPolicy(net.policy, t).isolated)
    .map((t) => isolationLine(t, portPolicy(net.policy, t).isolated));
}

/** Steps that give each of TAPS (those whose tc state was looked at) the limits its policy wants: IFBs made
 *  first, then one tc batch, then the taps' records (alias) and IFBs no longer used removed. */
export function limitSteps(net: Network, obs: PortsObserved, taps: string[]): Step[] {
  const add: string[] = [];
  const tc: string[] = [];
  const after: string[] = [];
  for (const tap of taps) {
    const shape = obs.shape[tap];
    const port = obs.ports[tap];
    if (!shape || !port) continue;
    const rate = portPolicy(net.policy, tap).rate;
    const down = rate?.down ?? null;
    const up = rate?.up ?? null;
    if (down === null && shape.down) tc.push(...unshapeLines(tap));
    if (down !== null && (shape.down?.bits !== asTc(down) || shape.down.fqCodel !== obs.fqCodel))
      tc.push(...shaperLines(tap, down, obs.fqCodel));
    const ifb = ifbName(port.ifindex);
    const have = obs.ifbs.find((i) => i.name === ifb);
    if (up !== null) {
      if (!have) add.push(`link add name ${ifb} type ifb`, `link set dev ${ifb} alias ${ifbAlias(net, tap)}`);
      if (!have || have.bits !== asTc(up)) tc.push(...shaperLines(ifb, up, obs.fqCodel));
      if (!have) add.push(`link set dev ${ifb} up`);
      if (shape.redirect !== ifb) tc.push(...redirectLines(tap, ifb, shape.redirect !== null));
    } else {
      if (shape.redirect !== null) tc.push(`filter del dev ${tap} ingress pref ${REDIRECT_PREF}`);
      if (have) after.push(`link delete dev ${ifb}`);
    }
    // Recorded last: a run cut off before the limits were made is finished by the next.
    if (!recordsRate(port.alias, rate)) after.push(`link set dev ${tap} alias ${rateAlias(rate)}`);
  }
  const steps: Step[] = [];
  if (add.length) steps.push({ kind: "ip", lines: add });
  if (tc.length) steps.push({ kind: "tc", lines: tc });
  if (after.length) steps.push({ kind: "ip", lines: after });
  return steps;
}

/** Removal of NET's IFBs whose tap is gone (a VM stopped without its down hook, or libvirt's, run after the tap
 *  closed) or is LEAVING (detached now): forced, as another run may remove one meanwhile. */
export function orphanIfbSteps(obs: PortsObserved, leaving = ""): Step[] {
  const alive = new Set(
    Object.entries(obs.ports)
      .filter(([t]) => t !== leaving)
      .map(([, p]) => ifbName(p.ifindex)),
  );
  const gone = obs.ifbs.filter((i) => !alive.has(i.name)).map((i) => `link delete dev ${i.name}`);
  return gone.length ? [{ kind: "ip", lines: gone, force: true, why: "IFBs of taps that are gone" }] : [];
}

/** Steps that give every VM port of NET's bridge its policy (kvmnet up). */
export function portPolicyUpSteps(net: Network, obs: PortsObserved | null | undefined, bridgePorts: string[]): Step[] {
  if (!obs) return [];
  const taps = Object.keys(obs.ports);
  const flags = isolationLines(net, obs, taps, bridgePorts);
  return [
    ...limitSteps(net, obs, taps),
    ...(flags.length ? [{ kind: "ip" as const, lines: flags }] : []),
    ...orphanIfbSteps(obs),
  ];
}

/** Steps that attach TAP with its policy: its limits before it joins the bridge, its port flag set before it
 *  comes up (ATTACH: the lines that put it on the bridge, the last one bringing it up). */
export function attachWithPolicy(
  net: Network,
  obs: PortsObserved | null | undefined,
  tap: string,
  attach: string[],
): Step[] {
  const limits = obs ? limitSteps(net, obs, [tap]) : [];
  const isolated = portPolicy(net.policy, tap).isolated;
  const flagged = obs?.ports[tap]?.isolated ?? false;
  let lines = attach;
  if (attach.length && isolated) {
    const last = attach[attach.length - 1]!;
    lines = [...attach.slice(0, -1), last.replace(/ up$/, ""), isolationLine(tap, true), `link set dev ${tap} up`];
  } else if (!attach.length && isolated !== flagged && obs?.ports[tap]) lines = [isolationLine(tap, isolated)];
  else if (attach.length && flagged) lines = [...attach, isolationLine(tap, false)];
  return [...limits, ...(lines.length ? [{ kind: "ip" as const, lines }] : [])];
}
