// The iptables backend: kvmnet's own chains, jumped once from each built-in chain, dispatching to each network's
// chains. The dispatch chains are shared by all networks: changes take the host-wide lock.
import type { FirewallBackend } from "../backend-types.js";
import type { FirewallState, IptState } from "../state.js";
import { withDockerUser } from "../docker.js";
import { IPT } from "../../core/names.js";
import { readIptablesCounts } from "./counters.js";
import { iptablesUpScript } from "./diff.js";
import { observeIptables } from "./observe.js";
import { renderIptables } from "./render.js";
import { iptablesAbsent, iptablesDownSteps, iptablesOldLayout, iptablesUpSteps } from "./rule-steps.js";

// The state this backend observed (a state of the other backend here is a programming error).
function own(state: FirewallState): IptState {
  if (state.backend !== "iptables") throw new Error(`the iptables backend was given a ${state.backend} state`);
  return state;
}

const remaking = (state: FirewallState) => "full" in state || "other" in state;

/** The iptables backend. */
export const iptables: FirewallBackend = {
  name: "iptables",
  caps: { ipv6: false, publish: false, guard: true, sharedChains: true, firstInBuiltins: true, acl: false },
  lacks: {
    ipv6: "has IPv4 rules only (no ip6tables twin)",
    publish: "publishes no ports",
    acl: "has no firewall rules (ACLs)",
  },
  tools: [
    { cmd: "iptables-save", pkg: "iptables" },
    { cmd: "iptables-restore", pkg: "iptables" },
  ],
  observe: (exec, net, thorough = false) => {
    const state = observeIptables(exec, net);
    return withDockerUser(exec, state, thorough || remaking(state));
  },
  remaking,
  upSteps: (net, state) => iptablesUpSteps(net, own(state)),
  staleFlowSteps: () => [],
  downSteps: (net, state) => iptablesDownSteps(net, own(state)),
  absent: (net, state) => iptablesAbsent(net, own(state)),
  oldLayout: (net, state) => iptablesOldLayout(net, own(state)),
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
  readAclCounts: () => null,
  readCounts: readIptablesCounts,
  // kvmnet's chains live in the same filter table as DOCKER-USER, which comes first: an ACCEPT there would skip
  // them, so the rules hand the traffic to kvmnet's dispatch chain, which decides.
  dockerUserJump: (net) => (renderIptables(net) ? IPT.forward : null),
};
