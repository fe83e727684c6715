// The iptables backend's decisions for one network: what brings its chains up or down, and what the look showed
// of them. Pure.
import type { Network } from "../../config/types.js";
import type { Step } from "../../core/steps.js";
import type { IptState } from "../state.js";
import { nftLeftovers } from "../nft/leftovers.js";
import { iptablesOldJumps, iptablesUpScript } from "./diff.js";
import { iptablesLeftovers } from "./leftovers.js";
import { renderIptables } from "./render.js";

/** Steps that make NET's chains and dispatch entries exactly the rendered ones, then remove NET's part of the nft
 *  table (left by `firewall = nftables`); [] when all is so. */
export function iptablesUpSteps(net: Network, state: IptState): Step[] {
  const want = renderIptables(net);
  const script = want ? iptablesUpScript(net, want, state.save) : "";
  return [...(script ? [{ kind: "iptables" as const, script }] : []), ...nftLeftovers(net, state.other)];
}

/** Steps that remove NET's chains (and the shared ones when no network is left in them), and its nft objects. */
export function iptablesDownSteps(net: Network, state: IptState): Step[] {
  return [...iptablesLeftovers(net, state.save), ...nftLeftovers(net, state.other)];
}

/** True when none of NET's chains or references to them exist (what is left to remove is only shared). */
export function iptablesAbsent(net: Network, state: IptState): boolean {
  return iptablesLeftovers(net, state.save).every((s) => s.kind !== "iptables" || s.ifUnused);
}

/** True when kvmnet 0.1's layout of NET is there: its chains jumped from the built-in chains, or its nft table. */
export function iptablesOldLayout(net: Network, state: IptState): boolean {
  return iptablesOldJumps(net, state.save) || !!state.other?.oldTable;
}
