// Observing a network's rules with the nft backend. On the warm path one process: the quick look at the network's
// "from" chain and the map that leads to it, whose cost does not grow with the number of networks. Only when that
// does not show the network in place does kvmnet look further (the whole table, the network's pre-0.2 table, and
// its iptables chains, which a switch of `firewall =` leaves behind): changes follow then anyway.
import type { Network } from "../../config/types.js";
import type { Exec } from "../../host/exec.js";
import type { NftState } from "../state.js";
import { lookIptables } from "../iptables/read.js";
import { nftInPlace } from "./diff.js";
import { hasOldTable, listTables, lookNft, nftQuickLook } from "./read.js";
import { renderNft } from "./render.js";

/** Read what exists of NET's rules. THOROUGH (kvmnet up and down, a network's first or last hook): kvmnet 0.1's
 *  table of NET too, even when the network is in place. */
export function observeNft(exec: Exec, net: Network, thorough: boolean): NftState {
  const quick = nftQuickLook(exec, net);
  const want = renderNft(net);
  // kvmnet 0.1 run after this version (a downgrade and back) makes NET's old table again beside the shared
  // one, which the quick look cannot show: in one nft 1.0.6 run, `list tables` shows only the tables the run's
  // other commands name.
  const tables = thorough ? listTables(exec, true) : null;
  const old = hasOldTable(net, tables);
  if (quick && want && nftInPlace(net, want, quick) && !old) return { backend: "nftables", quick };
  return { backend: "nftables", quick, full: lookNft(exec, net, true, tables)!, other: lookIptables(exec, false) };
}
