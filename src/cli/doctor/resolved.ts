// The host resolving its guests' names (a network with `domain`): systemd-resolved sends DOMAIN and the reverse
// zones of the subnet to the bridge's dnsmasq once kvmnet registered the bridge; without resolved, the fix says
// how to get the same by hand (kvmnet never touches the host's /etc/resolv.conf).
import type { Config, Network } from "../../config/types.js";
import { resolvedUpSteps } from "../../decide/resolved.js";
import { readLink } from "../../observe/links.js";
import { observeResolved, resolvedRunning } from "../../observe/resolved.js";
import { resolvedLinkFor } from "../../render/resolved.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** Findings for every network with a domain its dnsmasq serves (none when no network has one). */
export function checkResolved(ctx: DoctorContext): Finding[] {
  const config = ctx.config;
  const nets = (config?.networks ?? []).filter((n) => config && resolvedLinkFor(config, n));
  if (!config || !nets.length) return [];
  if (!resolvedRunning())
    return nets.map((n) => ({
      id: "resolved",
      level: "warn",
      networks: [n.name],
      message: `${n.name}: systemd-resolved does not run: the host itself does not resolve NAME.${n.domain} (the guests do, through their dnsmasq)`,
      fix: byHand(config, n),
    }));
  return nets.map((n): Finding => {
    const bridge = readLink(n.bridge);
    const want = resolvedLinkFor(config, n)!;
    const what = `systemd-resolved sends ${want.domains.join(" ")} to ${want.dns.join(" ")} (kvmnet's dnsmasq on ${n.bridge})`;
    if (!bridge)
      return { id: "resolved", level: "ok", networks: [n.name], message: `${n.name}: down; when up, ${what}` };
    const steps = resolvedUpSteps(config, n, observeResolved(ctx.exec, n, bridge));
    if (!steps.length) return { id: "resolved", level: "ok", networks: [n.name], message: `${n.name}: ${what}` };
    return {
      id: "resolved",
      level: "warn",
      networks: [n.name],
      message: `${n.name}: systemd-resolved does not send ${n.domain} to the bridge's dnsmasq: the host does not resolve its guests' names`,
      fix: `kvmnet up ${n.name} (kvmnet reapply and kvmnet watch also register it again when resolved lost it)`,
    };
  });
}

// The same by hand: the host's own resolver asks the bridge's dnsmasq for the domain and the reverse zones.
function byHand(config: Config, n: Network): string {
  const want = resolvedLinkFor(config, n)!;
  const addr = want.dns[0]!;
  const zones = want.domains.map((d) => d.slice(1));
  const hosts = n.hosts.map((h) => `${h.ip} ${h.name}.${n.domain} ${h.name}`);
  return (
    `start systemd-resolved (kvmnet up ${n.name} then registers the bridge); or, with dnsmasq as the host's ` +
    `resolver, add ${zones.map((z) => `server=/${z}/${addr}`).join(" ")} to its config` +
    (hosts.length ? `; or, for the static hosts only, add to /etc/hosts: ${hosts.join("; ")}` : "")
  );
}
