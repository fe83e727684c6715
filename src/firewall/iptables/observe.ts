// Observing a network's rules with the iptables backend: one iptables-save. Only when that does not show the
// network in place does kvmnet also look at the nft table (what a switch of `firewall =` leaves behind).
import type { Network } from "../../config/types.js";
import type { Exec } from "../../host/exec.js";
import type { IptState } from "../state.js";
import { lookNft } from "../nft/read.js";
import { iptablesUpScript } from "./diff.js";
import { lookIptables } from "./read.js";
import { renderIptables } from "./render.js";

/** Read what exists of NET's rules. */
export function observeIptables(exec: Exec, net: Network): IptState {
  const save = lookIptables(exec, true)!;
  const want = renderIptables(net);
  if (want && iptablesUpScript(net, want, save) === "") return { backend: "iptables", save };
  return { backend: "iptables", save, other: lookNft(exec, net, false) };
}
