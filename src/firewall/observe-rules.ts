// Observing a network's rules with the backend `firewall =` selects (see the backends' observe).
import type { Firewall, Network } from "../config/types.js";
import type { Exec } from "../host/exec.js";
import { firewallBackend } from "./choose-backend.js";
import type { FirewallState } from "./state.js";

/** Read what exists of NET's rules with backend NAME. THOROUGH (kvmnet up and down, a network's first or last
 *  hook): also DOCKER-USER, and kvmnet 0.1's layout of NET, even when the network is in place. */
export function observeFirewall(exec: Exec, name: Firewall, net: Network, thorough = false): FirewallState {
  return firewallBackend(name).observe(exec, net, thorough);
}

export type { FirewallState } from "./state.js";
