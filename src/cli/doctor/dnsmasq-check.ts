// kvmnet's own dnsmasqs: one that serves a bridge that was deleted (its DHCP socket is bound to the old
// ifindex), one whose pid record was lost, and one that cannot read its static leases as nobody.
import { isStale } from "../../decide/dnsmasq-steps.js";
import { describeUnreadable } from "../../observe/dnsmasq-access.js";
import { observeDnsmasq } from "../../observe/dnsmasq-state.js";
import { renderDnsmasq } from "../../render/dnsmasq-conf.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** One finding per network that runs dnsmasq. */
export function checkDnsmasq(ctx: DoctorContext): Finding[] {
  const config = ctx.config;
  if (!config) return [];
  return config.networks
    .filter((n) => renderDnsmasq(config, n))
    .map((net): Finding => {
      const d = observeDnsmasq(config, net, ctx.exec);
      const base = { id: "dnsmasq", networks: [net.name] };
      const unreadable = net.hosts.length ? d.unreadable : [];
      if (unreadable.length) {
        const u = unreadable[0]!;
        return {
          ...base,
          level: "fail",
          message: `${net.name}: dnsmasq (as nobody) ${unreadable.map(describeUnreadable).join("; ")}: its static leases and names are silently ignored`,
          fix:
            u.kind === "dir"
              ? `set state_dir to a directory anyone may enter, such as /run/kvmnet, or chmod o+x ${u.blocker}`
              : `kvmnet up ${net.name} (writes it again, mode 0644)`,
        };
      }
      if (isStale(d)) {
        const now =
          d.bridgeIfindex === null ? `${net.bridge} is gone` : `${net.bridge} is now ifindex ${d.bridgeIfindex}`;
        return {
          ...base,
          level: "fail",
          message: `${net.name}: dnsmasq pid ${d.pid} is stale: it serves bridge ifindex ${d.ifindex ?? "?"} and ${now} (deleted and made again): no guest gets a lease`,
          fix: `kvmnet up ${net.name} (restarts it for the bridge there now)`,
        };
      }
      if (d.pid === null && d.orphans.length) {
        return {
          ...base,
          level: "fail",
          message: `${net.name}: dnsmasq pid ${d.orphans.join(", ")} runs with kvmnet's config but its pid file was lost: a new one cannot bind`,
          fix: `kvmnet up ${net.name} (stops it and starts a recorded one)`,
        };
      }
      if (d.pid === null)
        return {
          ...base,
          level: "ok",
          message: `${net.name}: no dnsmasq running (the first VM's hook or kvmnet up ${net.name} starts it)`,
        };
      return {
        ...base,
        level: "ok",
        message: `${net.name}: dnsmasq pid ${d.pid} serves ${net.bridge} and can read its files`,
      };
    });
}
