// Deciding the firewall changes: compare the observed table or chains with the rendered ones.
import type { Network } from "../config/types.js";
import type { FirewallState } from "../observe/firewall.js";
import { forwardOrderBroken, iptablesDownScript, iptablesUpScript, jumpKey, renderIptables } from "../render/iptables.js";
import { nftDeleteScript, nftReplaceScript, renderNftTable } from "../render/nft.js";
import type { Step } from "./steps.js";

const norm = (text: string) => text.split("\n").map((l) => l.trimEnd()).filter(Boolean).join("\n");

/** Steps that make NET's rules exactly the rendered ones; [] when they already are. */
export function firewallUpSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  if (state.backend === "nftables") {
    const want = renderNftTable(net);
    if (!want || (state.table !== null && norm(state.table) === norm(want))) return [];
    return [{ kind: "nft", script: nftReplaceScript(net, want) }];
  }
  const want = renderIptables(net);
  const missing = new Set<string>();
  let differs = false;
  for (const t of want) {
    const have = state.tables[t.table] ?? { chains: {}, jumps: [] };
    for (const [ch, rules] of Object.entries(t.chains)) {
      if ((have.chains[ch] ?? null)?.join("\n") !== rules.join("\n")) differs = true;
    }
    for (const [b, ch] of t.jumps) if (!have.jumps.includes(jumpKey(b, ch))) missing.add(jumpKey(b, ch));
  }
  // Any network's forward-in jump below a forward-out one breaks isolation: repaired by whichever hook runs next.
  if (!differs && missing.size === 0 && !forwardOrderBroken(state.forward)) return [];
  return [{ kind: "iptables", script: iptablesUpScript(want, missing, state.forward) }];
}

/** Steps that remove NET's rules; [] when none exist. */
export function firewallDownSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  if (state.backend === "nftables") return state.table === null ? [] : [{ kind: "nft", script: nftDeleteScript(net) }];
  const present = Object.entries(state.tables).map(([table, t]) => ({ table, jumps: t.jumps, chains: Object.keys(t.chains) }));
  const script = iptablesDownScript(present);
  return script.trim() ? [{ kind: "iptables", script }] : [];
}
