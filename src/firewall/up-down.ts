// Deciding the firewall changes of one network: compare what was observed with what the config renders.
import type { Network } from "../config/types.js";
import type { FirewallState, NftLook } from "./observe.js";
import type { IptSave } from "./iptables/save.js";
import { renderIptables } from "./iptables/render.js";
import { renderNft } from "./nft/render.js";
import { nftDownScript, nftDropTableScript, nftUpScript, type NftObjects } from "./nft/script.js";
import { dockerUserDownSteps, dockerUserUpSteps } from "./docker-user.js";
import { iptablesDownScript, iptablesDropSharedScript, iptablesOldJumps, iptablesUpScript } from "./iptables/diff.js";
import { nftInPlace, nftOwned, nftStale } from "./nft/diff.js";
import type { Step } from "../core/steps.js";

const none: NftObjects = { chains: [], elements: [] };

/** Steps that make NET's rules exactly the rendered ones, and remove its rules of the other backend, then NET's
 *  rules in Docker's DOCKER-USER (when it was looked at); [] when they already are so. */
export function firewallUpSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  return [...ownUpSteps(net, state), ...dockerUserUpSteps(net, state.backend, state.docker)];
}

function ownUpSteps(net: Network, state: FirewallState): Step[] {
  if (state.backend === "nftables") {
    const want = renderNft(net);
    if (!want) return [];
    // In place, but kvmnet 0.1 (run after this version: a downgrade and back) made its table again beside it:
    // every rule would exist twice. Only that table goes.
    if (state.quick && nftInPlace(net, want, state.quick))
      return state.full?.oldTable
        ? [{ kind: "nft", script: nftDownScript(net, none, true) }, ...iptablesLeftovers(net, state.other)]
        : [];
    const table = state.full?.table;
    const stale = table ? nftStale(nftOwned(net, table, want), want) : none;
    const old = state.full?.oldTable ?? true;
    return [{ kind: "nft", script: nftUpScript(net, want, stale, old) }, ...iptablesLeftovers(net, state.other)];
  }
  const want = renderIptables(net);
  const script = want ? iptablesUpScript(net, want, state.save) : "";
  return [...(script ? [{ kind: "iptables" as const, script }] : []), ...nftLeftovers(net, state.other)];
}

/** Steps that remove NET's rules in DOCKER-USER (first: they may jump to kvmnet's chains), then NET's rules (of
 *  either backend), and the shared table or chains if no network is left in them; [] when none exist. */
export function firewallDownSteps(net: Network, state: FirewallState | null): Step[] {
  if (!state) return [];
  return [...dockerUserDownSteps(net, state.docker), ...ownDownSteps(net, state)];
}

function ownDownSteps(net: Network, state: FirewallState): Step[] {
  if (state.backend === "iptables") {
    const down = iptablesDownScript(net, state.save);
    const shared = iptablesDropSharedScript(net, state.save);
    return [
      ...(down ? [{ kind: "iptables" as const, script: down }] : []),
      ...(shared ? [{ kind: "iptables" as const, script: shared, ifUnused: true }] : []),
      ...nftLeftovers(net, state.other),
    ];
  }
  if (state.full) return [...nftLeftovers(net, state.full), ...iptablesLeftovers(net, state.other)];
  // The quick look showed NET in place, so exactly what it renders is there (and the table).
  const want = renderNft(net)!;
  return nftRemoval(net, { chains: Object.keys(want.chains), elements: want.elements }, false, true);
}

// NET's objects in the shared nft table (and its old table), then the table itself if no other network is left.
function nftLeftovers(net: Network, look: NftLook | null | undefined): Step[] {
  if (!look) return [];
  const present = look.table ? nftOwned(net, look.table) : none;
  return nftRemoval(net, present, look.oldTable, !!look.table);
}

// Deleting the table is tried whenever it exists, not only when no other network was seen in it: networks
// going down at once each see the others, and the last of them must still delete it. The kernel refuses it
// while another network remains (see nftDropTableScript), and the step is then skipped.
function nftRemoval(net: Network, present: NftObjects, old: boolean, table: boolean): Step[] {
  const steps: Step[] = [];
  if (present.chains.length || present.elements.length || old)
    steps.push({ kind: "nft", script: nftDownScript(net, present, old) });
  if (table) steps.push({ kind: "nft", script: nftDropTableScript(), ifUnused: true });
  return steps;
}

// NET's iptables chains (after a switch to nftables), then the shared chains if no network is left in them.
function iptablesLeftovers(net: Network, save: IptSave | null | undefined): Step[] {
  if (!save) return [];
  const down = iptablesDownScript(net, save);
  const shared = iptablesDropSharedScript(net, save);
  return [
    ...(down ? [{ kind: "iptables" as const, script: down }] : []),
    ...(shared ? [{ kind: "iptables" as const, script: shared, ifUnused: true }] : []),
  ];
}

/** True when kvmnet 0.1's layout of NET is there: its table `ip kvmnet-NET`, or its iptables chains jumped from the
 *  built-in chains (status: "old layout, replaced on the next up", not "missing"). */
export function firewallOldLayout(net: Network, state: FirewallState): boolean {
  if (state.backend === "nftables") return !!state.full?.oldTable;
  return iptablesOldJumps(net, state.save) || !!state.other?.oldTable;
}

/** True when none of NET's rules exist with the configured backend (for status: "missing" vs "outdated"). */
export function firewallAbsent(net: Network, state: FirewallState): boolean {
  if (state.backend === "iptables")
    return firewallDownSteps(net, { ...state, other: null, docker: undefined }).every(
      (s) => s.kind !== "iptables" || s.ifUnused,
    );
  if (state.quick && renderNft(net) && nftInPlace(net, renderNft(net)!, state.quick)) return false;
  const t = state.full?.table;
  const owned = t ? nftOwned(net, t) : none;
  return !owned.chains.length && !owned.elements.length;
}
