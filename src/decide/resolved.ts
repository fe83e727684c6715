// Registering a network's bridge with systemd-resolved, so that the host resolves its guests' names (web.DOMAIN,
// and their addresses back to names) through the network's dnsmasq, and removing that on down. resolved keeps
// per-link settings only as long as the link exists: a bridge made again (a hook, kvmnet up, reapply, watch) is
// registered again. Pure; [] when resolved does not run: the host's /etc/resolv.conf is never touched.
import type { Config, Network } from "../config/types.js";
import type { ResolvedState } from "../observe/resolved.js";
import { looksLikeKvmnets, resolvedLinkFor } from "../render/resolved.js";
import type { Step } from "../core/steps.js";

/** Steps that give NET's bridge its DNS server and routing domains in systemd-resolved (and take kvmnet's off it
 *  when NET no longer has a domain); [] when it already is so. */
export function resolvedUpSteps(config: Config, net: Network, rs: ResolvedState | null | undefined): Step[] {
  if (!rs) return [];
  const want = resolvedLinkFor(config, net);
  const have = rs.link;
  const br = net.bridge;
  if (!want) return have && looksLikeKvmnets(have, net) ? [{ kind: "resolvectl", args: ["revert", br] }] : [];
  const steps: Step[] = [];
  if (!sameSet(have?.dns ?? [], want.dns)) steps.push({ kind: "resolvectl", args: ["dns", br, ...want.dns] });
  if (!sameSet(have?.domains ?? [], want.domains))
    steps.push({ kind: "resolvectl", args: ["domain", br, ...want.domains] });
  // Routing-only domains already keep other names off the link, by resolved's automatic rule; said explicitly
  // with every registration, so that no other name is ever sent to the guests' dnsmasq.
  if (steps.length || have?.defaultRoute !== false)
    steps.push({ kind: "resolvectl", args: ["default-route", br, "false"] });
  return steps;
}

/** Steps that take kvmnet's settings off NET's bridge in systemd-resolved (before the bridge goes); [] when it has
 *  none of them. */
export function resolvedDownSteps(config: Config, net: Network, rs: ResolvedState | null | undefined): Step[] {
  const have = rs?.link;
  if (!have) return [];
  const ours = resolvedLinkFor(config, net) !== null ? have.dns.length > 0 || have.domains.length > 0 : false;
  return ours || looksLikeKvmnets(have, net) ? [{ kind: "resolvectl", args: ["revert", net.bridge] }] : [];
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
