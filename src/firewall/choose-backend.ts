// Choosing the firewall backend: once, from `firewall =`. What a backend observed says which backend it was, so
// the decisions about it are that backend's too.
import type { Firewall } from "../config/types.js";
import type { FirewallState } from "./state.js";
import type { FirewallBackend } from "./backend-types.js";
import { iptables } from "./iptables/backend.js";
import { nftables } from "./nft/backend.js";

const BACKENDS: Record<Firewall, FirewallBackend> = { nftables, iptables };

/** The backend `firewall = NAME` selects. */
export function firewallBackend(name: Firewall): FirewallBackend {
  return BACKENDS[name];
}

/** The backend that observed STATE. */
export function backendOf(state: FirewallState): FirewallBackend {
  return BACKENDS[state.backend];
}

export type { FirewallBackend, FirewallCaps, RuleCounts, Count } from "./backend-types.js";
export type { FirewallState } from "./state.js";
