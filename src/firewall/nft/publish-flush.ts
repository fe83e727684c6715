// A published UDP port whose target changed (or that went away) keeps sending to the old guest while conntrack
// remembers the flow (UDP "connections" live on as long as packets keep coming): those entries are deleted once
// the new rules are in, as CNI's portmap plugin does. TCP needs nothing: new connections take the new rule.
import type { Network } from "../../config/types.js";
import type { NftState } from "../state.js";
import { nftChains } from "../../core/names.js";
import { renderNft } from "./render.js";
import type { Step } from "../../core/steps.js";

/** Steps that delete the conntrack entries of NET's UDP published ports whose rule is about to change or go. */
export function publishFlushSteps(net: Network, state: NftState): Step[] {
  if (!state.full?.table) return [];
  const chain = nftChains(net).publish;
  const have = state.full.table.chains[chain] ?? [];
  const want = renderNft(net)?.chains[chain] ?? [];
  const ports = have
    .filter((r) => !want.includes(r))
    .flatMap((r) => {
      const m = /\budp dport (\d+)\b/.exec(r);
      return m ? [Number(m[1])] : [];
    });
  return [...new Set(ports)].map((port) => ({ kind: "conntrack-flush" as const, proto: "udp" as const, port }));
}
