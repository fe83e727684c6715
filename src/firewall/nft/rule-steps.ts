// The nft backend's decisions for one network: what brings its part of the shared table up or down, and what the
// look showed of it. Pure.
import type { Network } from "../../config/types.js";
import type { Step } from "../../core/steps.js";
import type { NftState } from "../state.js";
import { iptablesLeftovers } from "../iptables/leftovers.js";
import { nftInPlace, nftOwned, nftStale } from "./diff.js";
import { NO_OBJECTS, nftLeftovers, nftRemoval } from "./leftovers.js";
import { renderNft } from "./render.js";
import { nftDownScript, nftUpScript } from "./script.js";

/** Steps that make NET's part of the table exactly the rendered one, then remove NET's iptables chains (left by
 *  `firewall = iptables`); [] when all is so. */
export function nftUpSteps(net: Network, state: NftState): Step[] {
  const want = renderNft(net);
  if (!want) return [];
  // In place, but kvmnet 0.1 (run after this version: a downgrade and back) made its table again beside it:
  // every rule would exist twice. Only that table goes.
  if (state.quick && nftInPlace(net, want, state.quick))
    return state.full?.oldTable
      ? [{ kind: "nft", script: nftDownScript(net, NO_OBJECTS, true) }, ...iptablesLeftovers(net, state.other)]
      : [];
  const table = state.full?.table;
  const stale = table ? nftStale(nftOwned(net, table, want), want) : NO_OBJECTS;
  const old = state.full?.oldTable ?? true;
  return [{ kind: "nft", script: nftUpScript(net, want, stale, old) }, ...iptablesLeftovers(net, state.other)];
}

/** Steps that remove NET's part of the table (and the table when no network is left in it), and its iptables
 *  chains. */
export function nftDownSteps(net: Network, state: NftState): Step[] {
  if (state.full) return [...nftLeftovers(net, state.full), ...iptablesLeftovers(net, state.other)];
  // The quick look showed NET in place, so exactly what it renders is there (and the table).
  const want = renderNft(net)!;
  return nftRemoval(net, { chains: Object.keys(want.chains), elements: want.elements, counters: [] }, false, true);
}

/** True when none of NET's objects are in the table. */
export function nftAbsent(net: Network, state: NftState): boolean {
  const want = renderNft(net);
  if (state.quick && want && nftInPlace(net, want, state.quick)) return false;
  const t = state.full?.table;
  const owned = t ? nftOwned(net, t) : NO_OBJECTS;
  return !owned.chains.length && !owned.elements.length;
}
