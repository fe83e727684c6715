// Deciding, purely from one snapshot, the steps that take a network towards an intent. The common path and the
// modes' own steps are in src/decide/; this adds the uplink move (a bridge network whose bridge kvmnet builds
// over its NIC) and the undo of a move a killed run left half done.
import type { Config, Network } from "../config/types.js";
import { attachLines, tapMtu } from "../decide/bridge.js";
import { decideDown, decideNetworkDown, decideNetworkUp } from "../decide/network.js";
import type { Step } from "../decide/steps.js";
import { planUplinkBridge } from "../decide/uplink.js";
import { attachWithPolicy, orphanIfbSteps, portPolicyUpSteps } from "../decide/ports.js";
import { guardDownScript, guardUpScript } from "../render/guard.js";
import type { Intent } from "../intent.js";
import { uplinkJournal, type Snapshot } from "../observe/snapshot.js";

/** What to do: STEPS in order; AGAIN: look at the host again afterwards and decide anew (the steps repair what an
 *  interrupted run left, and what comes next depends on how that went). */
export interface Decision {
  steps: Step[];
  again: boolean;
}

/** The steps that take NET from SNAP towards INTENT. */
export function decide(config: Config, net: Network, snap: Snapshot, intent: Intent): Decision {
  if (snap.journal !== null) {
    const journal = uplinkJournal(config, net);
    const undo = snap.journal.split("\n").filter(Boolean);
    const why = "an earlier move of the uplink was cut off; undoing it";
    return {
      steps: [
        { kind: "ip", lines: undo, force: true, why },
        { kind: "unlink", path: journal },
      ],
      again: true,
    };
  }
  switch (intent.action) {
    case "up":
      return {
        steps: [
          ...uplinkMove(config, net, snap),
          ...decideNetworkUp(config, net, snap),
          ...portPolicyUpSteps(net, snap.ports, snap.bridge?.ports ?? []),
        ],
        again: false,
      };
    case "attach": {
      const move = uplinkMove(config, net, snap);
      const steps = [...move, ...decideNetworkUp(config, net, snap, snap.tap?.name)];
      // A bridge built over the uplink takes the NIC's MTU; the tap gets the bridge's.
      const bridge = move.length && snap.uplinkState ? snap.uplinkState.link : snap.bridge;
      const attach = snap.tap ? attachLines(net, snap.tap, tapMtu(net, bridge)) : [];
      // The guard goes in before the tap joins the bridge: no frame of the guest ever passes unguarded.
      if (net.guard && snap.tap && snap.guestMac) steps.push(guardUpStep(net, snap.tap.name, snap.guestMac));
      if (snap.tap) steps.push(...attachWithPolicy(net, snap.ports, snap.tap.name, attach));
      return { steps, again: false };
    }
    case "down":
      return { steps: decideNetworkDown(config, net, snap), again: false };
    case "detach": {
      const guard: Step[] = net.guard && intent.tap ? [{ kind: "nft", script: guardDownScript(intent.tap) }] : [];
      // The tap's IFB goes with it (and any left by taps already gone).
      const ifbs = snap.ports ? orphanIfbSteps(snap.ports, intent.tap) : [];
      return { steps: [...decideDown(config, net, snap, intent.tap), ...guard, ...ifbs], again: false };
    }
  }
}

// TAP's guard chain for the guest MAC, with the addresses of its static leases.
function guardUpStep(net: Network, tap: string, mac: string): Step {
  const ips = net.hosts.filter((h) => h.mac === mac).map((h) => h.ip);
  return { kind: "nft", script: guardUpScript(net, tap, mac, ips) };
}

// Building a missing bridge over the uplink (a bridge network with `uplink`): one step, undone as a whole on failure.
function uplinkMove(config: Config, net: Network, snap: Snapshot): Step[] {
  if (net.mode !== "bridge" || snap.bridge || !snap.uplinkState || !net.uplink) return [];
  const plan = planUplinkBridge(net, snap.uplinkState);
  const journal = uplinkJournal(config, net);
  return [{ kind: "uplink-move", nic: net.uplink, bridge: net.bridge, ...plan, journal }];
}
