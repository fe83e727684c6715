// Deciding, purely from one snapshot, the steps that take a network towards an intent. The common path and the
// modes' own steps are in src/decide/; this adds the uplink move (a bridge network whose bridge kvmnet builds
// over its NIC), and finishing or undoing a move a killed run left half done.
import type { Config, Network } from "../config/types.js";
import { attachLines, tapMtu } from "../decide/bridge.js";
import { decideDown, decideNetworkDown, decideNetworkUp } from "../decide/network.js";
import type { Step } from "../core/steps.js";
import { journalRoutes, planUplinkBridge, type BuiltBridge } from "../decide/uplink.js";
import { guardAttachSteps, guardDetachSteps, guardUpSteps } from "../decide/guard.js";
import { attachWithPolicy, orphanIfbSteps, portPolicyUpSteps } from "../decide/ports.js";
import type { Intent } from "../intent.js";
import { type Snapshot } from "../observe/snapshot.js";
import { uplinkJournal } from "../core/names.js";
import { traits } from "../modes.js";

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
    // A bridge the cut-off move left is finished from what the host and the journal hold: no second outage of
    // the host's address, as undoing and moving again would be. The step writes a journal of its own.
    const finish = builtBridge(net, snap) && uplinkMove(config, net, snap);
    if (finish) return { steps: [{ kind: "unlink", path: journal }, ...finish], again: true };
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
    case "attach": {
      const move = uplinkMove(config, net, snap);
      // Finishing a cut-off move comes first and alone: the next round looks whether the host is now as planned.
      if (move.length && snap.bridge) return { steps: move, again: true };
      if (intent.action === "up") {
        // The guard first: taps that lost it (a flushed ruleset) are guarded again before anything else changes.
        const guard = snap.guard ? guardUpSteps(config, net, snap.guard) : [];
        const ports = portPolicyUpSteps(net, snap.ports, snap.bridge?.ports ?? []);
        return { steps: [...guard, ...move, ...decideNetworkUp(config, net, snap), ...ports], again: false };
      }
      const steps = [...move, ...decideNetworkUp(config, net, snap, snap.tap?.name)];
      // A bridge built over the uplink takes the NIC's MTU; the tap gets the bridge's.
      const bridge = move.length && snap.uplinkState ? snap.uplinkState.link : snap.bridge;
      const attach = snap.tap ? attachLines(net, snap.tap, tapMtu(net, bridge)) : [];
      // The guard goes in before the tap joins the bridge: no frame of the guest ever passes unguarded.
      if (snap.guard && snap.tap && snap.guestMac)
        steps.push(...guardAttachSteps(config, net, snap.guard, snap.tap.name, snap.guestMac));
      if (snap.tap) steps.push(...attachWithPolicy(net, snap.ports, snap.tap.name, attach));
      return { steps, again: false };
    }
    case "down":
      return { steps: decideNetworkDown(config, net, snap), again: false };
    case "detach": {
      const guard = snap.guard ? guardDetachSteps(config, net, snap.guard, intent.tap) : [];
      // The tap's IFB goes with it (and any left by taps already gone).
      const ifbs = snap.ports ? orphanIfbSteps(snap.ports, intent.tap) : [];
      return { steps: [...decideDown(config, net, snap, intent.tap), ...guard, ...ifbs], again: false };
    }
  }
}

// Building a missing bridge over the uplink (a bridge network with `uplink`): one step, undone as a whole on failure.
// A bridge a cut-off move left (kvmnet's alias on it) gets the rest of the move, the same kind of step.
function uplinkMove(config: Config, net: Network, snap: Snapshot): Step[] {
  if (traits(net).uplink !== "port" || !snap.uplinkState || !net.uplink) return [];
  const built = builtBridge(net, snap);
  if (snap.bridge && !built) return [];
  const plan = planUplinkBridge(net, snap.uplinkState, built ?? undefined);
  if (!plan.lines.length) return [];
  const journal = uplinkJournal(config, net);
  const why = built ? { why: "an earlier move of the uplink was cut off; finishing it" } : {};
  return [{ kind: "uplink-move", nic: net.uplink, bridge: net.bridge, ...plan, journal, ...why }];
}

// What a cut-off move left of NET's bridge, when kvmnet may finish it: with the routes its journal (if any) knew
// and neither device holds now (a move by an older kvmnet took a route off the NIC before it was on the bridge).
function builtBridge(net: Network, snap: Snapshot): BuiltBridge | null {
  const nic = snap.uplinkState;
  if (!snap.bridge || !snap.builtBridge || !nic) return null;
  // The NIC a port of another bridge: not kvmnet's to take.
  if (nic.link.master && nic.link.master !== net.bridge) return null;
  const held = [...nic.routes, ...snap.builtBridge.routes];
  const lost = snap.journal ? journalRoutes(snap.journal, nic.link.name, net.bridge, held) : [];
  return { link: snap.bridge, state: snap.builtBridge, lost };
}
