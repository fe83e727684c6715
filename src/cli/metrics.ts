// `kvmnet metrics`: what is exported, gathered from sysfs (interface statistics, the bridges' forwarding
// databases), dnsmasq's lease files and kvmnet's rule counters (one nft or iptables-save process in all).
import { readFileSync } from "node:fs";
import type { Config, Network } from "../config/types.js";
import { realExec, type Exec } from "../host/exec.js";
import { firewallBackend, type RuleCounts } from "../firewall/choose-backend.js";
import { readFdb } from "../observe/fdb.js";
import { IF_STATS, readIfStats, type IfStats } from "../observe/ifstats.js";
import { tapOwners } from "./tap-owner.js";
import { readLink } from "../observe/links.js";
import { dnsmasqFiles } from "../core/names.js";
import { readShaperDrops } from "../observe/shaper-drops.js";
import { ifbName } from "../render/tc.js";
import { readLeaseFile } from "./leases.js";
import { leaseReport } from "./leases-report.js";
import type { Family } from "./metrics-text.js";
import { hostPorts } from "../core/names.js";
import { traits } from "../modes.js";

type Role = "bridge" | "tap" | "uplink";

// Interface families, named as node_exporter names its node_network_* ones.
const IF_FAMILIES: Record<(typeof IF_STATS)[number], [string, string]> = {
  rx_bytes: ["kvmnet_interface_receive_bytes_total", "Bytes received by the interface, as the host sees it"],
  tx_bytes: ["kvmnet_interface_transmit_bytes_total", "Bytes sent by the interface, as the host sees it"],
  rx_packets: ["kvmnet_interface_receive_packets_total", "Packets received by the interface"],
  tx_packets: ["kvmnet_interface_transmit_packets_total", "Packets sent by the interface"],
  rx_dropped: ["kvmnet_interface_receive_drop_total", "Received packets the interface dropped"],
  tx_dropped: ["kvmnet_interface_transmit_drop_total", "Packets to send the interface dropped"],
};

/** Every metric of CONFIG's networks, observed now. */
export function collectMetrics(config: Config, exec: Exec = realExec, now = Date.now()): Family[] {
  const f = (name: string, help: string, type: Family["type"]): Family => ({ name, help, type, samples: [] });
  const up = f("kvmnet_network_up", "1 when the network's bridge exists and is up", "gauge");
  const ifs = Object.values(IF_FAMILIES).map(([name, help]) => f(name, help, "counter"));
  const leases = f("kvmnet_dhcp_leases", "Static leases (host.NAME), active dynamic DHCP and DHCPv6 leases", "gauge");
  const pool = f("kvmnet_dhcp_pool_size", "Addresses in dhcp_range", "gauge");
  const rulePackets = f("kvmnet_rule_packets_total", "Packets counted by kvmnet's firewall rules", "counter");
  const ruleBytes = f("kvmnet_rule_bytes_total", "Bytes counted by kvmnet's firewall rules", "counter");
  const shaperDrops = f(
    "kvmnet_rate_drops_total",
    "Packets kvmnet's bandwidth limit (rate) dropped on a tap, by direction (download: to the guest)",
    "counter",
  );
  const drops = config.networks.some((n) => n.policy) ? readShaperDrops(exec) : new Map<string, number>();
  const owners = f("kvmnet_tap_owner", "1 for each tap an ordinary user owns (kvmnet-userd), by user and uid", "gauge");
  const ownerOf = tapOwners(config.stateDir);
  const withRules = config.networks.filter((n) => traits(n).firewall);
  const counts = withRules.length ? firewallBackend(config.firewall).readCounts(exec, withRules) : new Map();
  const aclCounts = firewallBackend(config.firewall).readAclCounts(exec, config.networks);
  for (const net of config.networks) {
    const br = readLink(net.bridge);
    const labels = { network: net.name };
    up.samples.push({ labels: { ...labels, mode: net.mode, bridge: net.bridge }, value: br?.up ? 1 : 0 });
    for (const i of interfaces(net)) {
      const stats = readIfStats(i.name);
      if (!stats) continue;
      const l = { ...labels, interface: i.name, role: i.role, guest_mac: i.mac };
      IF_STATS.forEach((k: keyof IfStats, n) => ifs[n]!.samples.push({ labels: l, value: stats[k] }));
      if (i.role !== "tap") continue;
      const o = ownerOf(i.name);
      if (o)
        owners.samples.push({ labels: { ...labels, interface: i.name, user: o.user, uid: String(o.uid) }, value: 1 });
      const ifb = ifbName(ifindexOf(i.name));
      for (const [direction, dev] of [
        ["download", i.name],
        ["upload", ifb],
      ] as const) {
        const n = drops.get(dev);
        if (n !== undefined) shaperDrops.samples.push({ labels: { ...l, direction }, value: n });
      }
    }
    if (net.dhcpRange) {
      const path = dnsmasqFiles(config, net).leases;
      const c = leaseReport(net, path, { file: readLeaseFile(path), fdb: new Map(), neighbours: [] }, now).counts;
      const kinds: ("static" | "dynamic" | "dhcpv6")[] = [
        "static",
        "dynamic",
        ...(net.dhcp6Range ? ["dhcpv6" as const] : []),
      ];
      for (const kind of kinds) leases.samples.push({ labels: { ...labels, kind }, value: c[kind] });
      pool.samples.push({ labels, value: c.pool! });
    }
    const rc: RuleCounts | null | undefined = counts.get(net.name);
    // Firewall rules (ACLs) by their key: rule="allow_in.ssh" (and "in-other"/"out-other": what they refuse).
    for (const [rule, v] of Object.entries({ ...rc, ...aclCounts?.get(net.name) })) {
      rulePackets.samples.push({ labels: { ...labels, rule }, value: v.packets });
      ruleBytes.samples.push({ labels: { ...labels, rule }, value: v.bytes });
    }
  }
  return [up, ...ifs, leases, pool, rulePackets, ruleBytes, shaperDrops, owners];
}

// The bridge, its ports (the host's own NIC on a bridge network is "uplink"), and a nat or routed network's
// uplink; a tap's guest MAC is the one its port learned (the lowest, should a tap carry several).
function interfaces(net: Network): { name: string; role: Role; mac: string }[] {
  const br = readLink(net.bridge);
  if (!br) return [];
  const host = hostPorts(net);
  const fdb = readFdb(net.bridge);
  const macOf = (port: string) =>
    [...fdb]
      .filter(([, e]) => e.port === port)
      .map(([m]) => m)
      .sort()[0] ?? "";
  const out: { name: string; role: Role; mac: string }[] = [{ name: net.bridge, role: "bridge", mac: "" }];
  for (const p of br.ports)
    out.push(host.includes(p) ? { name: p, role: "uplink", mac: "" } : { name: p, role: "tap", mac: macOf(p) });
  if (net.uplink && !br.ports.includes(net.uplink)) out.push({ name: net.uplink, role: "uplink", mac: "" });
  return out;
}

// The ifindex of NAME (0 when it left meanwhile: no IFB has that name).
function ifindexOf(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, "utf8"));
  } catch {
    return 0;
  }
}
