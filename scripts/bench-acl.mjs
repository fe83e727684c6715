// npm run bench:acl (also run by npm run bench): what kvmnet's firewall rules (ACLs) cost the data plane, side by
// side in one run. A guest sends small UDP packets (iperf3 -u -l 64, unlimited rate) through NAT to an outside
// host; every packet is an original-direction packet of the guest's network, so it walks that network's acl-out
// chain. Cases, each its own three namespaces (guest, host, outside), identical but for the config:
//   none    1 network, no rule (the acl maps are looked up and find nothing)
//   1       1 network, 1 rule
//   200/60  60 networks, 200 rules spread over them (the guest's network holds 4 of them)
//   200/1   1 network holding all 200 rules (what a single long rule list costs: it is walked rule by rule)
// Rounds interleave the cases (this machine is shared and noisy: only ratios within one run mean anything).
// The figure is the packets per second the outside received, and the CPU both iperf3 processes spent per packet.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchLab, inNs, kvmnet, median, natup } from "./bench-netns.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const { dir, topology, startServer, main } = benchLab("kvmnet-acl-bench", `kac${process.pid}`);

const CASES = [
  { id: "none", label: "1 network, no rule", nets: 1, rules: 0 },
  { id: "r1", label: "1 network, 1 rule", nets: 1, rules: 1 },
  { id: "r200n60", label: "60 networks, 200 rules", nets: 60, rules: 200 },
  { id: "r200n1", label: "1 network, 200 rules", nets: 1, rules: 200 },
];
// Rule I: none matches the benchmark's flow (udp to 203.0.113.2:5201), so each is walked and passed. Kinds
// alternate: a port, a destination prefix, a port to a prefix.
function rule(i) {
  const k = i % 3;
  if (k === 0) return `deny_out.r${i} = tcp/${1000 + i}`;
  if (k === 1) return `deny_out.r${i} = to 198.51.${i % 100}.0/24`;
  return `deny_out.r${i} = udp/${3000 + i} to 198.18.0.0/15`;
}

// The guest's network plus NETS-1 more on /30s of 100.64.0.0/10 (no dnsmasq); rule I goes to network I % NETS.
function kvmnetCase(c) {
  const d = join(dir, c.id);
  mkdirSync(d, { mode: 0o755 });
  c.conf = join(d, "kvmnet.conf");
  const rulesOf = (n) =>
    Array.from({ length: c.rules }, (_, i) => i)
      .filter((i) => i % c.nets === n)
      .map(rule);
  const net = (n, name, br, addr) =>
    [`[${name}]`, "mode = nat", `bridge = ${br}`, `address = ${addr}`, "uplink = up0", ...rulesOf(n), ""].join("\n");
  const nets = [net(0, "guest", "kvac0", "192.0.2.1/24")];
  for (let i = 1; i < c.nets; i++) nets.push(net(i, `n${i}`, `kvac${i}`, `100.64.${i}.1/30`));
  c.guestRules = rulesOf(0).length;
  const global = `[global]\nstate_dir = ${d}/run\nlease_dir = ${d}/lib\n`;
  writeFileSync(c.conf, [global, ...nets].join("\n"), { mode: 0o644 });
  const env = { ...process.env, KVMNET_CONFIG: c.conf, KVMNET_NETWORK: "guest" };
  if (c.nets > 1) inNs(c.ns.h, [kvmnet, "up", "--all"], { env });
  inNs(c.ns.h, [natup, "vg"], { env });
}

// One run: packets per second the outside received, and CPU ns per packet (both iperf3 processes' getrusage,
// which includes the forwarding softirq work done in their context).
function measure(c, secs) {
  let out;
  try {
    const args = ["iperf3", "-c", "203.0.113.2", "-u", "-b", "0", "-l", "64", "-t", String(secs), "-J"];
    out = inNs(c.ns.g, args, { timeout: (secs + 20) * 1000 });
  } catch (e) {
    throw new Error(`${c.label}: iperf3 -c failed: ${e.stdout || e.stderr || e.message}`, { cause: e });
  }
  const r = JSON.parse(out).end;
  const s = r.sum;
  const received = s.packets - s.lost_packets;
  const cpu = r.cpu_utilization_percent;
  return {
    pps: received / s.seconds,
    nsPerPkt: (((cpu.host_total + cpu.remote_total) / 100) * s.seconds * 1e9) / Math.max(1, s.packets),
  };
}

function report() {
  const f = (x, d = 2) => x.toFixed(d);
  const w = [-26, 10, -30, 11, 13, 10]; // negative: left-aligned
  const row = (cells) => "  " + cells.map((x, i) => (w[i] < 0 ? x.padEnd(-w[i]) : String(x).padStart(w[i]))).join(" ");
  console.log(
    `\nfirewall rules (ACLs): guest -> outside UDP 64 B through NAT, iperf3 -u -b 0 -t ${seconds}, ` +
      `median of ${runs} interleaved runs`,
  );
  console.log(row(["case", "kpps", "runs", "ns/pkt", "guest's rules", "acl lines"]));
  for (const c of CASES) {
    c.pps = median(c.results.map((x) => x.pps));
    const each = c.results.map((x) => f(x.pps / 1e3, 0)).join(" ");
    const ns = f(median(c.results.map((x) => x.nsPerPkt)), 0);
    console.log(row([c.label, f(c.pps / 1e3, 0), each, ns, c.guestRules, c.aclLines]));
  }
  const p = Object.fromEntries(CASES.map((c) => [c.id, c.pps]));
  const n = Object.fromEntries(CASES.map((c) => [c.id, median(c.results.map((x) => x.nsPerPkt))]));
  console.log(`\n  ratio                                    pps  CPU/pkt`);
  const line = (what, a, b, note = "") =>
    console.log(`  ${what.padEnd(38)} ${f(p[a] / p[b]).padStart(5)}  ${f(n[a] / n[b]).padStart(7)}${note}`);
  line("200 rules over 60 networks / 1 rule", "r200n60", "r1", "   (flat: pps >= 0.95, CPU <= 1.05)");
  line("1 rule / no rule", "r1", "none");
  line("200 rules on one network / 1 rule", "r200n1", "r1", "   (one long list, for reference)");
}

main(CASES, {
  setup(c) {
    topology(c);
    kvmnetCase(c);
    startServer(c);
    measure(c, 1); // warm-up, and proof that the guest reaches the outside
    c.aclLines = inNs(c.ns.h, ["nft", "list", "table", "inet", "kvmnet"])
      .split("\n")
      .filter((l) => /counter name "acl-/.test(l)).length;
  },
  measure: (c) => measure(c, seconds),
  runs,
  report,
});
