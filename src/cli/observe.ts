// One look at a network as the hooks take it (common part plus the mode's), and the uplink bridge that
// `up` would build first: shared by up, plan and status so that all three see the same thing.
import type { Exec } from "../apply/exec.js";
import type { Config, Network } from "../config/types.js";
import { planUplinkBridge } from "../decide/uplink.js";
import type { Step } from "../decide/steps.js";
import { readLink } from "../observe/links.js";
import { observeMode, type ObservedAll } from "../observe/mode.js";
import { observeNetwork } from "../observe/network.js";
import { observeUplink } from "../observe/uplink.js";

/** Everything the hooks observe of NET (no TAP). */
export function observeAll(exec: Exec, config: Config, net: Network): ObservedAll {
  return { ...observeNetwork(exec, config, net), mode: observeMode(net) };
}

/** The step that builds NET's bridge over its uplink when `up` would (apply/uplink.ts carries it out with
 *  rollback, outside the step list); null when nothing is to be built. */
export function uplinkBridgeStep(exec: Exec, net: Network): Step | null {
  if (net.mode !== "bridge" || !net.uplink || net.vlan || readLink(net.bridge)) return null;
  const state = observeUplink(exec, net.uplink);
  return state ? { kind: "ip", lines: planUplinkBridge(net, state).lines } : null;
}
