// A network's firewall changes from what was observed, by the backend that observed it, with NET's rules in
// Docker's DOCKER-USER (when it was looked at), which every backend keeps the same way.
import type { Network } from "../config/types.js";
import type { Step } from "../core/steps.js";
import { backendOf } from "./choose-backend.js";
import { dockerUserDownSteps, dockerUserUpSteps } from "./docker-user.js";
import type { FirewallState } from "./state.js";

/** Steps that make NET's rules exactly the rendered ones, and remove its rules of the other backend, then NET's
 *  rules in Docker's DOCKER-USER (when it was looked at); [] when they already are so. */
export function firewallUpSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  const backend = backendOf(state);
  return [...backend.upSteps(net, state), ...dockerUserUpSteps(net, backend, state.docker)];
}

/** Steps after NET's rules changed (see FirewallBackend.staleFlowSteps). */
export function firewallStaleFlowSteps(net: Network, state: FirewallState | null): Step[] {
  return state ? backendOf(state).staleFlowSteps(net, state) : [];
}

/** Steps that remove NET's rules in DOCKER-USER (first: they may jump to kvmnet's chains), then NET's rules (of
 *  either backend), and the shared table or chains if no network is left in them; [] when none exist. */
export function firewallDownSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  return [...dockerUserDownSteps(net, state.docker), ...backendOf(state).downSteps(net, state)];
}

/** True when kvmnet 0.1's layout of NET is there (status: "old layout, replaced on the next up", not "missing"). */
export function firewallOldLayout(net: Network, state: FirewallState): boolean {
  return backendOf(state).oldLayout(net, state);
}

/** True when none of NET's rules exist with the configured backend (for status: "missing" vs "outdated"). */
export function firewallAbsent(net: Network, state: FirewallState): boolean {
  return backendOf(state).absent(net, state);
}

/** True when the look went past the quick one: NET's rules are being (re)made. */
export function firewallRemaking(state: FirewallState | null): boolean {
  return !!state && backendOf(state).remaking(state);
}
