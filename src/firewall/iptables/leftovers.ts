// Removing a network's iptables chains: on the way down, and as the leftovers the nft backend removes after a
// switch of `firewall =`. Pure.
import type { Network } from "../../config/types.js";
import type { Step } from "../../core/steps.js";
import { iptablesDownScript, iptablesDropSharedScript } from "./diff.js";
import type { IptSave } from "./save.js";

/** NET's iptables chains and the references to them, then the shared chains if no network is left in them; []
 *  when SAVE is null (iptables is missing) or holds none of them. */
export function iptablesLeftovers(net: Network, save: IptSave | null | undefined): Step[] {
  if (!save) return [];
  const down = iptablesDownScript(net, save);
  const shared = iptablesDropSharedScript(net, save);
  return [
    ...(down ? [{ kind: "iptables" as const, script: down }] : []),
    ...(shared ? [{ kind: "iptables" as const, script: shared, ifUnused: true }] : []),
  ];
}
