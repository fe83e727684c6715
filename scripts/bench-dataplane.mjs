// npm run bench:dataplane: guest → outside TCP throughput (iperf3, one stream) through NAT, side by side in one
// run: a hand-made baseline (plain bridge, one nft masquerade rule) against kvmnet with 1 and with 60 networks up,
// for each firewall backend. Each case is its own set of three namespaces (guest, host, outside), identical but
// for the host's firewall, so the runs can be interleaved round by round: this machine is shared and noisy, and
// interleaving spreads the noise over every case alike (only ratios within one run mean anything).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { batch, benchLab, inNs, kvmnet, median, natup, run } from "./bench-netns.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const extra = 59; // networks beyond the guest's in the "60 networks" cases
const { dir, topology, startServer, main } = benchLab("kvmnet-dataplane", `kdp${process.pid}`);

const CASES = [
  { id: "base", label: "baseline: bridge + 1 masquerade rule" },
  { id: "nft1", label: "kvmnet nftables, 1 network", firewall: "nftables", nets: 1 },
  { id: "nft60", label: "kvmnet nftables, 60 networks", firewall: "nftables", nets: 1 + extra },
  { id: "ipt1", label: "kvmnet iptables, 1 network", firewall: "iptables", nets: 1 },
  { id: "ipt60", label: "kvmnet iptables, 60 networks", firewall: "iptables", nets: 1 + extra },
];
// The hand-made baseline: what an admin would type for one NAT bridge (no filtering at all).
function baseline(c) {
  batch(c.ns.h, [
    "link add br0 type bridge",
    "addr add 192.0.2.1/24 dev br0",
    "link set br0 up",
    "link set vg master br0 up",
  ]);
  inNs(c.ns.h, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  inNs(c.ns.h, ["nft", "-f", "-"], {
    input: `table ip bench-base {
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 192.0.2.0/24 oifname "up0" masquerade
\t}
}
`,
  });
}

// kvmnet: the guest's network plus N-1 more nat networks on /30s of 198.51.100.0/24, no dnsmasq (no
// dhcp_range: DHCP is not on the forwarding path, and no process outlives the namespaces). The others come
// up first with `kvmnet up --all`, then the guest's veth end is attached by qemu-natup as QEMU would run it.
function kvmnetCase(c) {
  const d = join(dir, c.id);
  mkdirSync(d, { mode: 0o755 });
  c.conf = join(d, "kvmnet.conf");
  const net = (name, br, addr) => `[${name}]\nmode = nat\nbridge = ${br}\naddress = ${addr}\nuplink = up0\n`;
  const nets = [net("guest", "kvdp0", "192.0.2.1/24")];
  for (let i = 1; i < c.nets; i++) nets.push(net(`n${i}`, `kvdp${i}`, `198.51.100.${(i - 1) * 4 + 1}/30`));
  const global = `[global]\nfirewall = ${c.firewall}\nstate_dir = ${d}/run\nlease_dir = ${d}/lib\n`;
  writeFileSync(c.conf, [global, ...nets].join("\n"), { mode: 0o644 });
  const env = { ...process.env, KVMNET_CONFIG: c.conf, KVMNET_NETWORK: "guest" };
  if (c.nets > 1) inNs(c.ns.h, [kvmnet, "up", "--all"], { env });
  inNs(c.ns.h, [natup, "vg"], { env });
}

// Packets the uplink carried so far: [data out (tx), ACKs back (rx)].
function upPackets(c) {
  const s = JSON.parse(run("ip", ["-n", c.ns.h, "-s", "-j", "link", "show", "up0"]))[0].stats64;
  return [s.tx.packets, s.rx.packets];
}

// One iperf3 run from the guest: Gbit/s received, and the CPU both iperf3 processes used per forwarded packet,
// data out plus ACKs back (iperf3's own getrusage figures, which include the softirq forwarding work done in
// their context; packets are counted on the uplink as netfilter sees them: skbs, GSO super-packets whole).
function measure(c, secs) {
  const [tx0, rx0] = upPackets(c);
  let out;
  try {
    const args = ["iperf3", "-c", "203.0.113.2", "-t", String(secs), "-J", "--connect-timeout", "3000"];
    out = inNs(c.ns.g, args, { timeout: (secs + 20) * 1000 });
  } catch (e) {
    throw new Error(`${c.label}: iperf3 -c failed: ${e.stdout || e.stderr || e.message}`, { cause: e });
  }
  const [tx1, rx1] = upPackets(c);
  const r = JSON.parse(out).end;
  const cpu = r.cpu_utilization_percent;
  const cpuNs = ((cpu.host_total + cpu.remote_total) / 100) * r.sum_received.seconds * 1e9;
  return {
    gbps: r.sum_received.bits_per_second / 1e9,
    nsPerPkt: cpuNs / (tx1 - tx0 + rx1 - rx0),
    bytesPerPkt: r.sum_sent.bytes / (tx1 - tx0),
  };
}

// The table: per case the median and each run, CPU per packet, and what the host held; then the ratios.
function report() {
  const f = (x, d = 2) => x.toFixed(d);
  const w = [-38, 7, -20, 11, 11, 8, 10, 8]; // negative: left-aligned
  const row = (cells) => "  " + cells.map((x, i) => (w[i] < 0 ? x.padEnd(-w[i]) : String(x).padStart(w[i]))).join(" ");
  console.log(
    `\ndata plane: guest -> outside TCP through NAT, 1 stream, iperf3 -t ${seconds}, ` +
      `median of ${runs} interleaved runs`,
  );
  console.log(row(["case", "Gbit/s", "runs", "ns/fwd-pkt", "B/data-pkt", "bridges", "nft-lines", "setup-s"]));
  for (const c of CASES) {
    const med = (k) => median(c.results.map((x) => x[k]));
    c.gbps = med("gbps");
    const each = c.results.map((x) => f(x.gbps)).join(" ");
    const cpu = [f(med("nsPerPkt"), 0), f(med("bytesPerPkt"), 0)];
    console.log(row([c.label, f(c.gbps), each, ...cpu, c.bridges, c.ruleLines, f(c.setup, 1)]));
  }
  const g = Object.fromEntries(CASES.map((c) => [c.id, c.gbps]));
  console.log(`\n  ratio (target >= 0.95)   nftables  iptables`);
  console.log(`  60 networks / 1 network  ${f(g.nft60 / g.nft1).padStart(8)}  ${f(g.ipt60 / g.ipt1).padStart(8)}`);
  console.log(`  1 network / baseline     ${f(g.nft1 / g.base).padStart(8)}  ${f(g.ipt1 / g.base).padStart(8)}`);
}
main(CASES, {
  setup(c) {
    const t = Date.now();
    topology(c);
    if (c.firewall) kvmnetCase(c);
    else baseline(c);
    startServer(c);
    measure(c, 1); // warm-up, and proof that the guest reaches the outside (through NAT: no return route)
    c.setup = (Date.now() - t) / 1000;
    // What the host holds, as proof of the case: its bridges and the size of its ruleset (iptables-nft's too).
    c.bridges = run("ip", ["-n", c.ns.h, "-o", "link", "show", "type", "bridge"]).trim().split("\n").length;
    c.ruleLines = inNs(c.ns.h, ["nft", "list", "ruleset"]).trim().split("\n").length;
  },
  measure: (c) => measure(c, seconds),
  runs,
  report,
});
