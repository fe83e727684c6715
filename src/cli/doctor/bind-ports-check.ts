// Another process on port 53 (DNS) or 67 (DHCP) where a network's dnsmasq must bind: it fails to start,
// or a second DHCP server answers the guests.
import { observeDnsmasq } from "../../observe/dnsmasq-state.js";
import { listSockets, type BoundSocket } from "./sockets.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";

/** True when S would take port 53 or 67 from a dnsmasq serving bridge BR at address ADDR. */
export function blocks(s: BoundSocket, br: string, addr: string): boolean {
  if (s.port !== 67 && !(s.port === 53)) return false;
  if (s.proto === "tcp" && s.port !== 53) return false;
  return (s.address === addr || s.address === "0.0.0.0") && (s.device === null || s.device === br);
}

/** Findings for every network with DHCP: sockets on its bridge address (or the wildcard) held by others. */
export function checkPorts(ctx: DoctorContext): Finding[] {
  const config = ctx.config;
  const nets = (config?.networks ?? []).flatMap((n) =>
    n.dhcpRange && n.address ? [{ ...n, address: n.address }] : [],
  );
  if (!config || !nets.length)
    return [{ id: "ports", level: "ok", message: "no network runs dnsmasq: ports 53 and 67 are not needed" }];
  const sockets = listSockets(ctx.exec);
  if (!sockets)
    return [{ id: "ports", level: "skip", message: "ss (iproute2) did not run: ports 53 and 67 not checked" }];
  const ours = new Set(
    config.networks.map((n) => observeDnsmasq(config, n, ctx.exec).pid).filter((p): p is number => p !== null),
  );
  return nets.map((n): Finding => {
    const addr = n.address.address;
    // dns = no: dnsmasq takes no port 53, and another resolver there is the point.
    const clash = sockets.filter(
      (s) => blocks(s, n.bridge, addr) && !(n.dns?.off && s.port === 53) && !s.owners.some((o) => ours.has(o.pid)),
    );
    if (!clash.length)
      return { id: "ports", level: "ok", message: `${n.name}: ports 53 and 67 on ${addr} are free for its dnsmasq` };
    const desc = clash.map((s) => {
      const who = s.owners.length ? s.owners.map((o) => `${o.comm} (pid ${o.pid})`).join(", ") : "an unknown process";
      return `${s.proto} ${s.address}${s.device ? `%${s.device}` : ""}:${s.port} is held by ${who}`;
    });
    return {
      id: "ports",
      level: "fail",
      networks: [n.name],
      message: `${n.name}: ${desc.join("; ")}: kvmnet's dnsmasq on ${n.bridge} cannot bind there, or a second DHCP server answers its guests`,
      fix:
        `make that service bind only its own interfaces (dnsmasq: bind-interfaces or bind-dynamic, except-interface=${n.bridge}; ` +
        "systemd-resolved on 127.0.0.53 is fine), or stop it",
    };
  });
}
