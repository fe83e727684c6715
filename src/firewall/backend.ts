// The firewall backend as one interface, chosen once from `firewall =`: how a network's rules are read, what
// brings them up or down, how they are shown. Each backend also removes what the other left behind (a switch of
// `firewall =` while networks are up), as CNI tears down both.
import type { Exec } from "../host/exec.js";
import type { Firewall, Network } from "../config/types.js";
import { firewallAbsent, firewallDownSteps, firewallOldLayout, firewallUpSteps } from "./up-down.js";
import { iptablesUpScript } from "./iptables/diff.js";
import type { Step } from "../core/steps.js";
import { observeFirewall, type FirewallState } from "./observe.js";
import { renderIptables } from "./iptables/render.js";
import { NFT_TABLE } from "../core/names.js";
import { renderNft } from "./nft/render.js";
import { nftTableView } from "./nft/script.js";

/** What kvmnet does with one firewall backend. */
export interface FirewallBackend {
  readonly name: Firewall;
  /** All networks' rules meet in chains every network's hook writes (iptables' FORWARD): changes need the
   *  host-wide lock besides the network's. */
  readonly sharedChains: boolean;
  /** Read what exists of NET's rules (one process on the warm path); THOROUGH: Docker's DOCKER-USER and kvmnet
   *  0.1's layout too (src/observe/firewall.ts). */
  observe(exec: Exec, net: Network, thorough?: boolean): FirewallState;
  /** Steps that make NET's rules exactly the rendered ones (and remove the other backend's); [] when they are. */
  upSteps(net: Network, state: FirewallState): Step[];
  /** Steps that remove NET's rules of either backend, and the shared objects when no network is left in them. */
  downSteps(net: Network, state: FirewallState): Step[];
  /** None of NET's rules exist (status: "missing" rather than "outdated"). */
  absent(net: Network, state: FirewallState): boolean;
  /** kvmnet 0.1's layout of NET is there (status: "old layout, replaced on the next up"). */
  oldLayout(net: Network, state: FirewallState): boolean;
  /** NET's rules as text in the form the backend loads them, for `kvmnet plan`; null when NET needs none. */
  rulesText(net: Network): string | null;
  /** What holds NET's rules, for `kvmnet status`. */
  objects(net: Network): string;
  /** The heading of rulesText in `kvmnet plan`. */
  rulesTitle(net: Network): string;
}

const common = {
  upSteps: firewallUpSteps,
  downSteps: firewallDownSteps,
  absent: firewallAbsent,
  oldLayout: firewallOldLayout,
};

const nftables: FirewallBackend = {
  name: "nftables",
  sharedChains: false,
  observe: (exec, net, thorough) => observeFirewall(exec, "nftables", net, thorough),
  ...common,
  // The shared table as `nft list` shows it when NET is its only network.
  rulesText: (net) => {
    const want = renderNft(net);
    return want && nftTableView(want);
  },
  rulesTitle: (net) =>
    `nftables, table inet ${NFT_TABLE} (${net.name}'s chains and map elements; other networks have their own)`,
  objects: (net) => `table inet ${NFT_TABLE}, chains ${Object.keys(renderNft(net)?.chains ?? {}).join(", ")}`,
};

const iptables: FirewallBackend = {
  name: "iptables",
  sharedChains: true,
  observe: (exec, net, thorough) => observeFirewall(exec, "iptables", net, thorough),
  ...common,
  // The restore script that makes NET's chains on a host that has none of kvmnet's.
  rulesText: (net) => {
    const want = renderIptables(net);
    return want && iptablesUpScript(net, want, {});
  },
  rulesTitle: () => "iptables chains (iptables-restore --noflush)",
  objects: (net) =>
    `chains ${Object.values(renderIptables(net)?.chains ?? {})
      .flatMap((t) => Object.keys(t))
      .join(", ")}`,
};

/** The backend `firewall = NAME` selects. */
export function firewallBackend(name: Firewall): FirewallBackend {
  return name === "nftables" ? nftables : iptables;
}
