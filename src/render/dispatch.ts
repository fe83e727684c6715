// A network's policy (render/policy.ts) split over dispatch chains, as both backends lay it out: a packet is
// handed to a network's chains only when it enters or leaves that network's bridge (or, for NAT, comes from its
// subnet), so its cost does not grow with the number of networks.
//
// In the policy, every forward rule names the bridge as input or output interface, and a packet must pass the
// rules of each network whose bridge it touches (one table per network did exactly that: every table must
// accept). So the forward rules split cleanly: "from" holds the rules matching on input = bridge (looked at
// first), "to" the rules matching on output = bridge. A "from" accept only lets the packet go on to the
// destination's network ("pass"), except bridge-to-same-bridge, which the policy accepts before anything else.
import type { Published } from "../config/types.js";
import type { Network } from "../config/types.js";
import { subnetOf } from "../ipv4.js";
import { subnetOf6 } from "../ipv6.js";
import { forwardPolicy, type InputRule, type Rule } from "./policy.js";

/** What a dispatched rule does: "pass" = allowed by this network, the destination's network decides next. */
export type DispatchVerdict = Rule["verdict"] | "pass";

/** A rule of a network's own chain; the dispatch already matched its bridge. */
export type DispatchRule = Omit<Rule, "verdict"> & { verdict: DispatchVerdict };

/** A network's policy as its dispatch chains hold it. */
export interface Dispatch {
  bridge: string;
  /** Input from the bridge to the host. */
  input: InputRule[];
  /** Forwarded, entering from the bridge: ends in a catch-all reject. */
  from: DispatchRule[];
  /** Forwarded, leaving through the bridge (and not from it): ends in a catch-all reject. */
  to: DispatchRule[];
  /** Published ports (dispatched by protocol and port in the nat prerouting and output hooks). */
  publish: Published[];
  /** Source NAT of the subnet (dispatched by source address). */
  nat?: { subnet: string; subnet6?: string; snatTo?: string; oif?: string };
}

/** NET's dispatch chains, or null when it needs no rules. */
export function dispatchOf(net: Network): Dispatch | null {
  const p = forwardPolicy(net);
  if (!p) return null;
  const br = net.bridge;
  const strip = <T extends Rule>(r: T, key: "iif" | "oif"): T => {
    const { [key]: _, ...rest } = r;
    return rest as T;
  };
  const from = p.forward
    .filter((r) => r.iif === br)
    .map((r): DispatchRule => {
      const rule = strip(r, "iif");
      // The policy puts bridge-to-same-bridge first: accepted here and now; any other accept only passes.
      return r.oif === br || r.verdict !== "accept" ? rule : { ...rule, verdict: "pass" };
    });
  const to = p.forward.filter((r) => r.oif === br && r.iif !== br).map((r) => strip(r, "oif"));
  const input = p.input.map((r) => strip(r, "iif"));
  const d: Dispatch = { bridge: br, input, from, to, publish: net.publish ?? [] };
  if (p.nat && net.address) {
    const six = net.address6 ? { subnet6: subnetOf6(net.address6) } : {};
    d.nat = { subnet: subnetOf(net.address), ...six, ...p.nat };
  }
  return d;
}
