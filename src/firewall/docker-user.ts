// Docker sets the iptables FORWARD policy to DROP (when it turned forwarding on itself), and an accept in
// kvmnet's own nft table cannot cancel a drop in another table. Docker's answer for other software is its
// DOCKER-USER chain, jumped from the top of FORWARD: kvmnet puts its network's rules there (in and out of the
// bridge; from the bridge to itself for bridged frames only), each tagged with a comment naming the network, and
// removes exactly those on teardown. Pure.
import type { Network } from "../config/types.js";
import { traits } from "../modes.js";
import { DOCKER_USER, type DockerUserState, type IptVariant } from "./docker.js";
import type { FirewallBackend } from "./backend-types.js";
import type { Step } from "../core/steps.js";

/** The comment on NET's rules in DOCKER-USER, as iptables-save prints it. */
export function dockerUserTag(net: Network): string {
  return `-m comment --comment "kvmnet ${net.name}"`;
}

/** NET's rules in DOCKER-USER, as iptables-save prints them: in and out of its bridge for a network that forwards,
 *  else (isolated, host-only, bridge mode: only bridged frames meet FORWARD, through br_netfilter) from the bridge
 *  to itself, so that routed traffic of a bridge that is the host's LAN interface is still Docker's to judge.
 *  TARGET: ACCEPT, except where kvmnet's own chains live in the same table (the backend's dockerUserJump, same
 *  variant): there an ACCEPT in DOCKER-USER, which comes first, would skip them, so the rules hand the traffic to
 *  kvmnet's dispatch chain, which decides. */
export function dockerUserRules(net: Network, target: string): string[] {
  const tag = dockerUserTag(net);
  const br = net.bridge;
  if (!traits(net).forwarding) return [`-A ${DOCKER_USER} -i ${br} -o ${br} ${tag} -j ${target}`];
  return [`-A ${DOCKER_USER} -i ${br} ${tag} -j ${target}`, `-A ${DOCKER_USER} -o ${br} ${tag} -j ${target}`];
}

/** NET's rules among RULES (a DOCKER-USER chain's): those carrying its tag. */
export function ownDockerUserRules(net: Network, rules: string[]): string[] {
  const tag = ` ${dockerUserTag(net)} `;
  return rules.filter((r) => r.includes(tag));
}

/** Steps that make NET's rules in every DOCKER-USER chain exactly the wanted ones (missing ones inserted at the
 *  top, ahead of Docker's own RETURN; stale ones of NET deleted); [] when they are, or when there is no Docker. */
export function dockerUserUpSteps(
  net: Network,
  backend: FirewallBackend,
  state: DockerUserState | null | undefined,
): Step[] {
  if (!state) return [];
  const jump = backend.dockerUserJump(net);
  return state.chains.flatMap((c) => {
    const want = dockerUserRules(net, jump && c.variant === state.kvmnetVariant ? jump : "ACCEPT");
    const have = ownDockerUserRules(net, c.rules);
    const stale = have.filter((r) => !want.includes(r)).map((r) => r.replace(/^-A /, "-D "));
    const missing = want.filter((r) => !have.includes(r)).reverse();
    const lines = [...stale, ...missing.map((r) => r.replace(/^-A /, "-I "))];
    return lines.length ? [step(c.variant, lines)] : [];
  });
}

/** Steps that delete NET's rules from every DOCKER-USER chain (and nothing else there); [] when it has none. */
export function dockerUserDownSteps(net: Network, state: DockerUserState | null | undefined): Step[] {
  if (!state) return [];
  return state.chains.flatMap((c) => {
    const have = ownDockerUserRules(net, c.rules);
    return have.length
      ? [
          step(
            c.variant,
            have.map((r) => r.replace(/^-A /, "-D ")),
          ),
        ]
      : [];
  });
}

function step(variant: IptVariant, lines: string[]): Step {
  return { kind: "iptables", variant, script: `*filter\n${lines.join("\n")}\nCOMMIT\n` };
}
