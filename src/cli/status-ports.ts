// A VM port's policy for `kvmnet status`: its bridge port flag `isolated` and the limits in place on it (as tc
// shows them, read by the same look as the rest of the status).
import { showRate } from "../config/policy-keys.js";
import type { PortsObserved } from "../observe/ports-state.js";
import { ifbName } from "../render/tc.js";

/** The policy in place on one port: isolated, and its limits in bits per second (null: none, or not looked at). */
export interface PortPolicyStatus {
  isolated: boolean;
  rate: { down: number | null; up: number | null } | null;
}

/** TAP's policy as observed in OBS; null when it has none (not isolated, no limits) or was not looked at. */
export function portPolicyStatus(obs: PortsObserved | null | undefined, tap: string): PortPolicyStatus | null {
  const port = obs?.ports[tap];
  if (!obs || !port) return null;
  const shape = obs.shape[tap];
  const down = shape?.down?.bits ?? null;
  const ifb = obs.ifbs.find((i) => i.name === ifbName(port.ifindex));
  const up = shape?.redirect === ifb?.name ? (ifb?.bits ?? null) : null;
  const rate = down === null && up === null ? null : { down, up };
  return port.isolated || rate ? { isolated: port.isolated, rate } : null;
}

/** The policy as a few words after a port in `kvmnet status`: "isolated, rate 20mbit down / 5mbit up". */
export function drawPortPolicy(p: PortPolicyStatus | null | undefined): string {
  if (!p) return "";
  const words = [
    ...(p.isolated ? ["isolated"] : []),
    ...(p.rate ? [`rate ${showRate(p.rate.down)} down / ${showRate(p.rate.up)} up`] : []),
  ];
  return words.length ? `  ${words.join(", ")}` : "";
}
