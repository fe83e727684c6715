// Are the programs kvmnet runs installed? Searched in PATH, as the hooks will spawn them.
import { which } from "../../host/which.js";
import { forwardPolicy } from "../../render/policy.js";
import { firewallBackend } from "../../firewall/choose-backend.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** The tools this config needs, each with the networks needing it and its Debian package. */
function needed(ctx: DoctorContext): { cmd: string; pkg: string; why: string; networks: string[] }[] {
  const nets = ctx.config?.networks ?? [];
  const names = (f: (n: (typeof nets)[number]) => boolean) => nets.filter(f).map((n) => n.name);
  const ruled = names((n) => forwardPolicy(n) !== null);
  const dhcp = names((n) => !!n.dhcpRange);
  const tools = [{ cmd: "ip", pkg: "iproute2", why: "every network", networks: nets.map((n) => n.name) }];
  if (ruled.length && ctx.config) {
    const backend = firewallBackend(ctx.config.firewall);
    for (const { cmd, pkg } of backend.tools)
      tools.push({ cmd, pkg, why: `firewall = ${backend.name}`, networks: ruled });
  }
  if (dhcp.length)
    tools.push({ cmd: "dnsmasq", pkg: "dnsmasq-base", why: "DHCP and DNS (dhcp_range)", networks: dhcp });
  return tools;
}

/** One finding per tool the config needs. */
export function checkTools(ctx: DoctorContext): Finding[] {
  return needed(ctx).map(({ cmd, pkg, why, networks }) => {
    const path = which(cmd, ctx.env);
    if (path) return { id: `tool-${cmd}`, level: "ok", message: `${cmd}: ${path} (${why})` };
    return {
      id: `tool-${cmd}`,
      level: networks.length ? "fail" : "warn",
      networks,
      message: `${cmd} not found in PATH; needed for ${why}${networks.length ? `: ${networks.join(", ")}` : ""}`,
      fix: `apt-get install ${pkg}`,
    };
  });
}
