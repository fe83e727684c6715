// Removing a network's objects from kvmnet's nft table: on the way down, and as the leftovers the iptables backend
// removes after a switch of `firewall =`. Pure.
import type { Network } from "../../config/types.js";
import type { Step } from "../../core/steps.js";
import { nftOwned } from "./diff.js";
import type { NftLook } from "./read.js";
import { nftDownScript, nftDropTableScript, type NftObjects } from "./script.js";

/** Nothing of a network. */
export const NO_OBJECTS: NftObjects = { chains: [], elements: [], counters: [] };

/** NET's objects in the shared nft table (and its old table), then the table itself if no other network is left;
 *  [] when LOOK is null (nft is missing). */
export function nftLeftovers(net: Network, look: NftLook | null | undefined): Step[] {
  if (!look) return [];
  const present = look.table ? nftOwned(net, look.table) : NO_OBJECTS;
  return nftRemoval(net, present, look.oldTable, !!look.table);
}

/** Steps that delete PRESENT of NET (and its old table when OLD), then try the shared table when TABLE. Deleting
 *  the table is tried whenever it exists, not only when no other network was seen in it: networks going down at
 *  once each see the others, and the last of them must still delete it. The kernel refuses it while another
 *  network remains (see nftDropTableScript), and the step is then skipped. */
export function nftRemoval(net: Network, present: NftObjects, old: boolean, table: boolean): Step[] {
  const steps: Step[] = [];
  if (present.chains.length || present.elements.length || present.counters.length || old)
    steps.push({ kind: "nft", script: nftDownScript(net, present, old) });
  if (table) steps.push({ kind: "nft", script: nftDropTableScript(), ifUnused: true });
  return steps;
}
