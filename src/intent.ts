// What a caller wants done to a network: the one input, beside the config, of the converge pipeline.
import type { Network } from "./config/types.js";
import { hostPorts } from "./core/names.js";

/** UP: the network as configured (`kvmnet up`); DOWN: what kvmnet made of it removed (`kvmnet down`, refused while
 *  VMs are attached unless FORCE); ATTACH: up, and TAP on it (the up hooks); DETACH: TAP off it, and the network
 *  down when it tears down when idle and no VM is left (the down hooks; TAP "" when it is already gone). MAC: the
 *  guest's, when the caller knows it (kvmnet-userd, told by kvmnet-qemu); otherwise the guard reads it from the
 *  parent QEMU's command line (PARENT: that QEMU's pid, when the hook is not its child: kvmnet watch serving it). */
export type Intent =
  | { action: "up" }
  | { action: "down"; force?: boolean }
  | { action: "attach"; tap: string; mac?: string; parent?: number }
  | { action: "detach"; tap: string };

/** True when INTENT brings the network up. */
export function bringsUp(intent: Intent): boolean {
  return intent.action === "up" || intent.action === "attach";
}

/** The tap INTENT names, or undefined. */
export function tapOf(intent: Intent): string | undefined {
  return intent.action === "attach" || intent.action === "detach" ? intent.tap || undefined : undefined;
}

/** True when taking TAP off NET, whose bridge has PORTS, also takes the network down: teardown = when-idle and no
 *  VM port is left. Only then does a down hook need NET's rules looked at (VM stops are otherwise one `ip`). */
export function detachTearsDown(net: Network, ports: string[], tap: string): boolean {
  return net.teardown === "when-idle" && ports.every((p) => p === tap || hostPorts(net).includes(p));
}
