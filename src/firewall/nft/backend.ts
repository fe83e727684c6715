// The nftables backend: one shared table `inet kvmnet`, base chains dispatching by verdict maps to each network's
// own chains, so a network's hook touches only its own objects (no host-wide lock).
import type { FirewallBackend } from "../backend-types.js";
import type { FirewallState, NftState } from "../state.js";
import { readAclCounts } from "./acl-counters.js";
import { withDockerUser } from "../docker.js";
import { NFT_TABLE } from "../../core/names.js";
import { readNftCounts } from "./counters.js";
import { observeNft } from "./observe.js";
import { publishFlushSteps } from "./publish-flush.js";
import { renderNft } from "./render.js";
import { nftTableView } from "./script.js";
import { nftAbsent, nftDownSteps, nftUpSteps } from "./rule-steps.js";

// The state this backend observed (a state of the other backend here is a programming error).
function own(state: FirewallState): NftState {
  if (state.backend !== "nftables") throw new Error(`the nftables backend was given a ${state.backend} state`);
  return state;
}

const remaking = (state: FirewallState) => "full" in state || "other" in state;

/** The nftables backend. */
export const nftables: FirewallBackend = {
  name: "nftables",
  caps: { ipv6: true, publish: true, guard: true, sharedChains: false, firstInBuiltins: false, acl: true },
  lacks: {},
  tools: [{ cmd: "nft", pkg: "nftables" }],
  observe: (exec, net, thorough = false) => {
    const state = observeNft(exec, net, thorough);
    return withDockerUser(exec, state, thorough || remaking(state));
  },
  remaking,
  upSteps: (net, state) => nftUpSteps(net, own(state)),
  staleFlowSteps: (net, state) => publishFlushSteps(net, own(state)),
  downSteps: (net, state) => nftDownSteps(net, own(state)),
  absent: (net, state) => nftAbsent(net, own(state)),
  oldLayout: (_net, state) => !!own(state).full?.oldTable,
  // The shared table as `nft list` shows it when NET is its only network.
  rulesText: (net) => {
    const want = renderNft(net);
    return want && nftTableView(want);
  },
  rulesTitle: (net) =>
    `nftables, table inet ${NFT_TABLE} (${net.name}'s chains and map elements; other networks have their own)`,
  objects: (net) => `table inet ${NFT_TABLE}, chains ${Object.keys(renderNft(net)?.chains ?? {}).join(", ")}`,
  readAclCounts,
  readCounts: readNftCounts,
  // kvmnet's nft table is not iptables' filter table: DOCKER-USER accepts, and the table still filters.
  dockerUserJump: () => null,
};
