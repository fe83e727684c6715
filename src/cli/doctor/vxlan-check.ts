// Networks across hosts: the underlay's MTU against the network's, each static peer reachable over the underlay
// (its route and neighbour entry), and with EVPN FRR's sessions and kvmnet's part of its config.
import type { Network } from "../../config/types.js";
import { vxlanOverhead } from "../../config/vxlan.js";
import { frrEvpnFragment, hasEvpn } from "../../render/frr.js";
import { wantedPeers } from "../../render/vxlan-text.js";
import { bgpSessions } from "../status-vxlan.js";
import type { DoctorContext, Finding } from "../../coexist/finding.js";
import { networkInterfaces } from "node:os";

/** Findings for every network with vxlan_id. */
export function checkVxlan(ctx: DoctorContext): Finding[] {
  const nets = (ctx.config?.networks ?? []).filter((n) => n.vxlan);
  return nets.flatMap((n) => [checkMtu(ctx, n), ...(n.vxlan!.evpn ? checkEvpn(ctx, n) : checkPeers(ctx, n))]);
}

function checkMtu(ctx: DoctorContext, net: Network): Finding {
  const vx = net.vxlan!;
  const id = "vxlan-mtu";
  const raw = ctx.read(`/sys/class/net/${vx.dev}/mtu`);
  if (raw === null)
    return {
      id,
      level: "fail",
      networks: [net.name],
      message: `${net.name}: no underlay interface ${vx.dev} on this host`,
      fix: `set vxlan_dev of [${net.name}] (or in its [${net.name}@HOSTNAME] section) to the NIC towards the other hosts`,
    };
  const underlay = Number(raw);
  // The bridge's MTU as it is (the taps have it) counts: the config's follows the underlay's when mtu is not set.
  const live = Number(ctx.read(`/sys/class/net/${net.bridge}/mtu`) ?? 0);
  const guests = Math.max(live, net.mtu ?? 1500);
  const need = guests + vxlanOverhead(vx);
  if (underlay >= need)
    return {
      id,
      level: "ok",
      networks: [net.name],
      message: `${net.name}: ${vx.dev} MTU ${underlay} carries the guests' ${guests} over VXLAN (needs ${need})`,
    };
  return {
    id,
    level: "fail",
    networks: [net.name],
    message: `${net.name}: ${vx.dev} MTU ${underlay} is less than the guests' ${guests} + VXLAN's ${vxlanOverhead(vx)}: full-size frames are lost`,
    fix: `raise ${vx.dev}'s MTU to ${need} on every host, or lower the network's: kvmnet up ${net.name} (or mtu = ${underlay - vxlanOverhead(vx)} in [${net.name}]) and restart the guests' DHCP`,
  };
}

// Each peer: a route over the underlay, and the next hop's neighbour entry not FAILED.
function checkPeers(ctx: DoctorContext, net: Network): Finding[] {
  const vx = net.vxlan!;
  const own = (networkInterfaces()[vx.dev] ?? []).map((a) => a.address);
  return wantedPeers(vx, own).map((peer): Finding => {
    const id = "vxlan-peer";
    const bad = (message: string, fix: string): Finding => ({
      id,
      level: "fail",
      networks: [net.name],
      message: `${net.name}: peer ${peer} ${message}`,
      fix,
    });
    const route = ctx.exec.tryRun("ip", ["-j", "route", "get", peer]);
    if (!route.ok) return bad("has no route", `give this host a route to ${peer} over ${vx.dev}`);
    const r = (JSON.parse(route.stdout) as { dev?: string; gateway?: string }[])[0] ?? {};
    if (r.dev !== vx.dev)
      return bad(
        `is routed through ${r.dev ?? "?"}, not the underlay ${vx.dev}`,
        `route ${peer} over ${vx.dev}, or set vxlan_dev`,
      );
    const hop = r.gateway ?? peer;
    const neigh = ctx.exec.tryRun("ip", ["-j", "neigh", "show", "to", hop, "dev", vx.dev]);
    const states = neigh.ok ? ((JSON.parse(neigh.stdout || "[]") as { state?: string[] }[])[0]?.state ?? []) : [];
    if (states.includes("FAILED") || states.includes("INCOMPLETE"))
      return bad(
        `does not answer on ${vx.dev} (neighbour ${hop} ${states.join(",")})`,
        `check that ${peer} is up and on the underlay`,
      );
    const seen = states.length ? `neighbour ${states.join(",")}` : "no traffic yet";
    return { id, level: "ok", networks: [net.name], message: `${net.name}: peer ${peer} over ${vx.dev} (${seen})` };
  });
}

// FRR answers, has kvmnet's EVPN lines, and its l2vpn evpn sessions are established.
function checkEvpn(ctx: DoctorContext, net: Network): Finding[] {
  const vx = net.vxlan!;
  const id = "vxlan-evpn";
  const running = ctx.exec.tryRun("vtysh", ["-c", "show running-config"]);
  if (!running.ok)
    return [
      {
        id,
        level: "fail",
        networks: [net.name],
        message: `${net.name}: evpn = yes, and FRR does not answer (vtysh: ${running.stderr.trim() || "failed"})`,
        fix: "install frr, enable bgpd (and zebra) in /etc/frr/daemons and start it: systemctl enable --now frr",
      },
    ];
  const out: Finding[] = [];
  if (!hasEvpn(running.stdout, vx.asn!))
    out.push({
      id,
      level: "warn",
      networks: [net.name],
      message: `${net.name}: FRR's router bgp ${vx.asn} has no advertise-all-vni in address-family l2vpn evpn`,
      fix: `kvmnet up ${net.name} (adds it to the running FRR); to keep it across FRR restarts, add to frr.conf:\n${frrEvpnFragment(vx.asn!)}`,
    });
  const sessions = bgpSessions(ctx.exec);
  const down = sessions.filter(([, s]) => s !== "Established");
  if (!sessions.length || down.length)
    out.push({
      id,
      level: sessions.length > down.length ? "warn" : "fail",
      networks: [net.name],
      message: `${net.name}: BGP EVPN sessions: ${sessions.length ? sessions.map(([a, s]) => `${a} ${s}`).join(", ") : "none"}`,
      fix: "configure the BGP neighbours (activated in address-family l2vpn evpn) in FRR; check TCP 179 between the hosts",
    });
  else
    out.push({
      id,
      level: "ok",
      networks: [net.name],
      message: `${net.name}: BGP EVPN sessions established: ${sessions.map(([a]) => a).join(", ")}`,
    });
  return out;
}
