// The plain output of `kvmnet status`: a picture of each bridge with its ports, addresses and uplink,
// in the spirit of `brctl show` and the diagrams of the seed articles.
import type { Paint } from "./output.js";
import type { NetworkStatus, PortStatus } from "./status.js";
import { drawVxlan } from "./status-vxlan.js";
import { drawPortPolicy } from "./status-ports.js";
import { showOwner } from "./tap-owner.js";

/** Draw one network as text lines. */
export function drawNetwork(s: NetworkStatus, p: Paint, now = Date.now()): string[] {
  const lines = [`${p.bold(s.name)}  ${s.mode}  ${state(s, p)}`];
  if (!s.exists) {
    lines.push(`  ${s.bridge}  ${p.dim("(no such bridge)")}`);
    return lines;
  }
  const addrs = s.addresses.length ? s.addresses.join(" ") : s.address ? p.warn(`missing ${s.address}`) : "";
  const owner = s.createdByKvmnet ? "" : p.dim("  (not created by kvmnet)");
  lines.push(`  ${s.bridge}  ${s.mac}  ${addrs ? `${addrs}  ` : ""}mtu ${s.mtu}${owner}`);
  const host = s.portDetails.filter((x) => x.role !== "vm");
  const vms = s.portDetails.filter((x) => x.role === "vm");
  const rows = [...host.map((x) => port(x, p)), ...vms.map((x) => port(x, p))];
  const beyond = egress(s, p);
  if (beyond) rows.push(beyond);
  if (!vms.length) rows.splice(host.length, 0, p.dim("(no VM attached)"));
  rows.forEach((r, i) => lines.push(`  ${i === rows.length - 1 ? "└──" : "├──"} ${r}`));
  if (s.firewall) {
    const st =
      s.firewall.state === "in-place"
        ? p.ok("in place")
        : s.firewall.state === "old-layout"
          ? p.warn("old layout (kvmnet 0.1), replaced on the next up")
          : p.warn(s.firewall.state);
    lines.push(`  firewall  ${s.firewall.backend} ${s.firewall.object}: ${st}`);
  }
  lines.push(...drawVxlan(s.vxlan, p));
  if (s.forwarding === false) lines.push(`  forward   ${p.warn("off")} (net.ipv4.ip_forward = 0)`);
  if (s.dnsmasq) {
    const d = s.dnsmasq;
    const st = d.state === "running" ? p.ok("running") : p.warn(d.state);
    lines.push(`  dhcp      dnsmasq${d.pid ? ` pid ${d.pid}` : ""}: ${st}, range ${d.range}`);
    if (d.dns) lines.push(`  dns       ${d.dns}`);
    if (d.boot) lines.push(`  boot      ${d.boot}`);
    for (const problem of d.problems ?? []) lines.push(`            ${p.warn(problem)}`);
    const leases = s.leases.map((l) => {
      const gone = l.expires !== null && Date.parse(l.expires) < now;
      const row = `${l.mac}  ${l.ip.padEnd(15)}  ${l.hostname ?? "-"}`;
      return gone ? p.dim(`${row}  (expired)`) : row;
    });
    leases.forEach((l, i) => lines.push(`  ${i === 0 ? "leases   " : "         "} ${l}`));
    if (!leases.length) lines.push(`  leases    ${p.dim("none")}`);
  }
  return lines;
}

function state(s: NetworkStatus, p: Paint): string {
  if (!s.exists) return p.warn(`down`) + p.dim(`  (kvmnet up ${s.name})`);
  const up = s.up ? p.ok("up") : p.warn("bridge down");
  // Nothing for `up` to do is not "as configured" when dnsmasq cannot do its job (it cannot read its files).
  if (s.pending === 0 && s.dnsmasq?.problems?.length) return `${up}, ${p.warn("dnsmasq has problems")}`;
  if (s.pending === 0) return `${up}, as configured`;
  return `${up}, ${p.warn(`${s.pending} change${s.pending > 1 ? "s" : ""} pending`)}${p.dim(`  (kvmnet plan ${s.name})`)}`;
}

function port(x: PortStatus, p: Paint): string {
  const role = x.role === "vm" ? "" : `  (${x.role})`;
  const owner = x.owner ? `  owner ${showOwner(x.owner)}` : "";
  return `${x.name}  ${x.mac}  ${x.up ? "up" : p.warn("down")}${role}${drawPortPolicy(x.policy)}${owner}`;
}

// What lies beyond the bridge: the egress of nat/routed, or nothing for isolated and host-only.
function egress(s: NetworkStatus, p: Paint): string | null {
  const to = s.uplink ? `${s.uplink.name}${s.uplink.present ? "" : p.bad(" (missing)")}` : "any interface";
  switch (s.mode) {
    case "nat":
      return `⇢ ${to}  (NAT)`;
    case "routed":
      return `⇢ ${to}  (routed, no NAT)`;
    case "host-only":
      return p.dim("host only: nothing forwarded");
    case "isolated":
      return p.dim("isolated: guests reach each other only");
    case "bridge":
      return s.uplink && !s.portDetails.some((x) => x.role === "uplink")
        ? p.warn(`uplink ${to} not on the bridge`)
        : null;
  }
}
