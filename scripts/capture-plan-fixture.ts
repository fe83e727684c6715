// Re-make the observed-host fixtures of the plan golden tests (test/golden/plan/CASE/, see its README.md): for each
// case, a throwaway network namespace is brought to the case's "before" state with the built hooks and CLI and
// config A, then kvmnet's own observe() looks at it with config B (the case's kvmnet.conf) from inside, and the
// ruleset and dnsmasq texts are read as the tools print them. Test addresses only; the host's own namespace is not
// touched. Run as root after `npm run build`: npx tsx scripts/capture-plan-fixture.ts [CASE...]
// (inside a namespace the same file runs as `--observe CONF NET INTENT`, printing host.json).
import { execaSync } from "execa";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realExec } from "../src/host/exec.js";
import { parseConfig } from "../src/config/validate.js";
import type { Intent } from "../src/intent.js";
import { observe } from "../src/observe/snapshot.js";
import { readRoutes } from "../src/observe/routes.js";
import { hook, Netns, program, ROOT, stopDnsmasqIn, veth } from "../test/helpers/netns.js";
import { loadPlanCase, planTranscript, TEXT_FILES, type HostFixture } from "../test/helpers/plan-fixture.js";
import { decide } from "../src/converge/decision.js";
import { qemuLikeTap } from "../test/helpers/tap.js";

/** Where the committed fixtures say kvmnet's files are (the defaults): the capture's temporary ones are renamed. */
const STATE = "/run/kvmnet";
const LEASES = "/var/lib/kvmnet";
const GOLDEN = join(ROOT, "test/golden/plan");

/** What a case's "before" step may do in the host namespace. */
interface Lab {
  host: Netns;
  /** Run PROGRAM TAP with config A (ENV added), expecting success unless ALLOWFAIL. */
  hook(program: string, tap: string, env?: Record<string, string>, allowFail?: boolean): void;
  /** `kvmnet ARGS` with config A. */
  kvmnet(...args: string[]): void;
  /** A directory of the capture's own (removed afterwards). */
  dir: string;
}

interface Case {
  name: string;
  network: string;
  /** Config A, as the network was brought up (null: nothing was); config B, the case's kvmnet.conf. */
  before: string | null;
  after: string;
  /** Taps that exist (made as QEMU makes them) before SETUP runs. */
  taps: string[];
  setup: (lab: Lab) => void;
  intent: Intent;
}

const NAT = `[nat0]
mode = nat
bridge = kvbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
host.web = 52:54:00:88:88:88,192.0.2.10
`;
const LAN = `[lan]
mode = bridge
bridge = kvbr0
uplink = up0
`;
const conf = (firewall: "nftables" | "iptables", body: string) => `[global]\nfirewall = ${firewall}\n\n${body}`;
const nat = (firewall: "nftables" | "iptables" = "nftables", edit = (s: string) => s) => conf(firewall, edit(NAT));
const up = (lab: Lab) => lab.kvmnet("up", "nat0");
const vm0 = (lab: Lab) => lab.hook("qemu-natup", "vm0");

const CASES: Case[] = [
  {
    name: "nothing-changed",
    network: "nat0",
    before: nat(),
    after: nat(),
    taps: [],
    setup: up,
    intent: { action: "up" },
  },
  {
    name: "host-name-changed",
    network: "nat0",
    before: nat(),
    after: nat("nftables", (s) => s.replace("88:88:88,192.0.2.10", "88:88:88,192.0.2.11")),
    taps: [],
    setup: up,
    intent: { action: "up" },
  },
  {
    name: "dhcp-option-changed",
    network: "nat0",
    before: nat("nftables", (s) => s + "dhcp_option.ntp-server = 192.0.2.5\n"),
    after: nat("nftables", (s) => s + "dhcp_option.ntp-server = 192.0.2.6\n"),
    taps: [],
    setup: up,
    intent: { action: "up" },
  },
  {
    name: "dhcp-range-changed",
    network: "nat0",
    before: nat(),
    after: nat("nftables", (s) => s.replace("192.0.2.199", "192.0.2.150")),
    taps: [],
    setup: up,
    intent: { action: "up" },
  },
  {
    name: "mtu-changed",
    network: "nat0",
    before: nat(),
    after: nat("nftables", (s) => `${s}mtu = 1400\n`),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "iptables-jump-missing",
    network: "nat0",
    before: nat("iptables"),
    after: nat("iptables"),
    taps: [],
    setup: async (lab) => {
      up(lab);
      await lab.host.sh("iptables -D FORWARD -j KVMNET-FORWARD");
    },
    intent: { action: "up" },
  },
  {
    name: "backend-switch-to-nftables",
    network: "nat0",
    before: nat("iptables"),
    after: nat("nftables"),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "backend-switch-to-iptables",
    network: "nat0",
    before: nat("nftables"),
    after: nat("iptables"),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "nothing-changed-iptables",
    network: "nat0",
    before: nat("iptables"),
    after: nat("iptables"),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "dnsmasq-gone",
    network: "nat0",
    before: nat(),
    after: nat(),
    taps: [],
    setup: async (lab) => {
      up(lab);
      // Killed by someone else (its pid file stays): by the pid kvmnet recorded, waiting until it is gone.
      await lab.host.sh(
        `p=$(cat ${lab.dir}/run/nat0.dnsmasq.pid); kill $p; while kill -0 $p 2>/dev/null; do sleep 0.05; done`,
      );
    },
    intent: { action: "up" },
  },
  {
    name: "bridge-deleted",
    network: "nat0",
    before: nat("nftables", (s) => `${s}taps = vm*\n`),
    after: nat("nftables", (s) => `${s}taps = vm*\n`),
    taps: ["vm0"],
    setup: async (lab) => {
      vm0(lab);
      await lab.host.sh("ip link delete dev kvbr0");
    },
    intent: { action: "up" },
  },
  {
    name: "cold-nat",
    network: "nat0",
    before: null,
    after: nat(),
    taps: ["vm0"],
    setup: () => {},
    intent: { action: "attach", tap: "vm0" },
  },
  {
    name: "policy-changed",
    network: "nat0",
    before: nat("nftables", (s) => `${s}port_isolation = yes\nrate = 20mbit\n`),
    after: nat("nftables", (s) => `${s}rate = 20mbit/5mbit\n`),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "acl-added",
    network: "nat0",
    before: nat(),
    after: nat("nftables", (s) => `${s}deny_out.smtp = tcp/25\nallow_in.ssh = tcp/22 from 198.51.100.0/24\n`),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "up" },
  },
  {
    name: "warm-attach",
    network: "nat0",
    before: nat(),
    after: nat(),
    taps: ["vm0", "vm1"],
    setup: vm0,
    intent: { action: "attach", tap: "vm1" },
  },
  {
    name: "detach-last-when-idle",
    network: "nat0",
    before: nat("nftables", (s) => `${s}teardown = when-idle\n`),
    after: nat("nftables", (s) => `${s}teardown = when-idle\n`),
    taps: ["vm0"],
    setup: vm0,
    intent: { action: "detach", tap: "vm0" },
  },
  {
    name: "bridge-over-uplink",
    network: "lan",
    before: null,
    after: conf("nftables", LAN),
    taps: ["vm0"],
    setup: () => {},
    intent: { action: "attach", tap: "vm0" },
  },
  {
    name: "interrupted-uplink-move",
    network: "lan",
    before: conf("nftables", LAN),
    after: conf("nftables", LAN),
    taps: ["vm0"],
    // The move's batch cut off by SIGKILL after 6 of its lines (as test/netns/uplink-journal.test.ts does): the
    // bridge holds the uplink, its address and the default route; the uplink still has both too.
    setup: (lab) => lab.hook("qemu-ifup-bridge", "vm0", { PATH: killingPath(join(lab.dir, "bin"), 6) }, true),
    intent: { action: "attach", tap: "vm0" },
  },
  {
    name: "interrupted-uplink-move-no-journal",
    network: "lan",
    before: conf("nftables", LAN),
    after: conf("nftables", LAN),
    taps: ["vm0"],
    // Cut off after 3 lines (bridge made with kvmnet's alias, the uplink its port), and the journal gone (removed,
    // or an older kvmnet wrote none): the bridge is down, the address and default route are still on the uplink.
    setup: (lab) => {
      lab.hook("qemu-ifup-bridge", "vm0", { PATH: killingPath(join(lab.dir, "bin"), 3) }, true);
      rmSync(join(lab.dir, "run", "lan.uplink-move"));
    },
    intent: { action: "attach", tap: "vm0" },
  },
];

/** A PATH whose `ip` runs only the first LINES lines of a batch, then SIGKILLs the hook that ran it. */
function killingPath(dir: string, lines: number): string {
  mkdirSync(dir);
  writeFileSync(
    `${dir}/ip`,
    `#!/bin/sh\nif [ "$1" = "-batch" ]; then\n  head -n ${lines} > "${dir}/part"\n  /usr/sbin/ip -batch "${dir}/part"\n  kill -KILL $PPID\n  exit 1\nfi\nexec /usr/sbin/ip "$@"\n`,
  );
  chmodSync(`${dir}/ip`, 0o755);
  return `${dir}:${process.env.PATH}`;
}

// The config as the capture runs it: the case's text with state and leases in the capture's own directory.
function placed(text: string, state: string, leases: string): string {
  return text.replace("[global]\n", `[global]\nstate_dir = ${state}\nlease_dir = ${leases}\n`);
}

async function capture(c: Case): Promise<void> {
  const host = await Netns.create("kpf");
  const outside = await Netns.create("kpo");
  const dir = mkdtempSync(join(tmpdir(), "kvmnet-plan-"));
  chmodSync(dir, 0o755); // dnsmasq re-reads its hostsfile as nobody
  const state = join(dir, "run");
  const leases = join(dir, "lib");
  const closers: (() => void)[] = [];
  try {
    await veth(host, "up0", outside, "eth0");
    await host.sh("ip addr add 203.0.113.1/24 dev up0 && ip route add default via 203.0.113.2 dev up0");
    await outside.sh("ip addr add 203.0.113.2/24 dev eth0");
    for (const t of c.taps) closers.push(await qemuLikeTap(host, t));
    const write = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, placed(text, state, leases));
      chmodSync(file, 0o644);
      return file;
    };
    const a = c.before === null ? null : write("a.conf", c.before);
    const b = write("b.conf", c.after);
    const lab: Lab = {
      host,
      dir,
      async hook(name, tap, env = {}, allowFail = false) {
        const r = await hook(host, name, tap, a!, env);
        if (r.code !== 0 && !allowFail) throw new Error(`${c.name}: ${name} ${tap}: ${r.stderr}`);
      },
      async kvmnet(...args) {
        const r = await host.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: a! } });
        if (r.exitCode !== 0) throw new Error(`${c.name}: kvmnet ${args.join(" ")}: ${r.stderr}`);
      },
    };
    c.setup(lab);
    const seen = execaSync(
      "ip",
      ["netns", "exec", host.name, "node", "--import", "tsx", import.meta.filename, "--observe", b, c.network],
      { cwd: ROOT, input: JSON.stringify(c.intent) },
    ).stdout;
    const { host: seenHost, plan: realPlan } = JSON.parse(seen) as { host: HostFixture; plan: string };
    const nft = await host.tryRun("nft", ["list", "table", "inet", "kvmnet"]);
    const save = await host.tryRun("iptables-save", []);
    const f = (suffix: string) => readOrNull(join(state, `${c.network}.${suffix}`));
    const texts: Record<keyof typeof TEXT_FILES, string | null> = {
      nft: nft.exitCode === 0 ? String(nft.stdout) + "\n" : null,
      // Its comment lines carry the time of the capture, nothing of the rules.
      iptables: save.exitCode === 0 ? keepRules(String(save.stdout)) : null,
      conf: f("dnsmasq.conf"),
      hosts: f("hostsfile"),
      addnHosts: f("addnhosts"),
      leaseEvent: f("lease-event"),
      opts: f("dhcpopts"),
    };
    const out = join(GOLDEN, c.name);
    mkdirSync(out, { recursive: true });
    const norm = (s: string) => s.replaceAll(state, STATE).replaceAll(leases, LEASES);
    writeFileSync(join(out, "kvmnet.conf"), c.after);
    writeFileSync(join(out, "host.json"), norm(JSON.stringify(seenHost, null, 2)) + "\n");
    for (const [k, file] of Object.entries(TEXT_FILES)) {
      const text = texts[k as keyof typeof TEXT_FILES];
      if (text === null) rmSync(join(out, file), { force: true });
      else writeFileSync(join(out, file), norm(text));
    }
    // The fixture must make decide() plan exactly what it planned on the real host, through kvmnet's own
    // observation of the firewall texts: else the fixture misses something decide looks at.
    const fromFixture = loadPlanCase(out);
    const planned = planTranscript(
      fromFixture.net,
      c.intent,
      decide(fromFixture.config, fromFixture.net, fromFixture.snapshot, c.intent),
    );
    if (planned !== norm(realPlan))
      throw new Error(`${c.name}: the fixture plans\n${planned}\nbut on the host kvmnet planned\n${norm(realPlan)}`);
    console.log(`${c.name}: captured (${planned.split("\n")[0]})`);
  } finally {
    for (const close of closers) close();
    stopDnsmasqIn(state);
    await host.destroy();
    await outside.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function keepRules(save: string): string {
  return save
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => `${l}\n`)
    .join("");
}

function readOrNull(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

// Inside the namespace: kvmnet's own observation of network NET with config CONF for the intent on stdin.
function observeInside(file: string, name: string): void {
  const config = parseConfig(file, readFileSync(file, "utf8"));
  const net = config.networks.find((n) => n.name === name);
  if (!net) throw new Error(`${file}: no network ${name}`);
  const intent = JSON.parse(readFileSync(0, "utf8")) as Intent;
  const { firewall, dnsmasq, ...snap } = observe(realExec, config, net, intent, readRoutes());
  const tables = realExec.tryRun("nft", ["list", "tables"]).stdout;
  const host: HostFixture = {
    network: name,
    intent,
    nftTables: tables.split("\n").filter(Boolean),
    ...snap,
    dnsmasq: dnsmasq && {
      pid: dnsmasq.pid,
      orphans: dnsmasq.orphans,
      ifindex: dnsmasq.ifindex,
      bridgeIfindex: dnsmasq.bridgeIfindex,
      unreadable: dnsmasq.unreadable,
      stateDirLine: dnsmasq.stateDirLine,
      kvmnet: dnsmasq.kvmnet,
    },
  };
  const plan = planTranscript(net, intent, decide(config, net, { ...snap, firewall, dnsmasq }, intent));
  process.stdout.write(JSON.stringify({ host, plan }));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--observe") return observeInside(argv[1]!, argv[2]!);
  if (!existsSync(program("kvmnet"))) throw new Error("build first: npm run build");
  const unknown = argv.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length) throw new Error(`no such case: ${unknown.join(", ")}`);
  for (const c of CASES) if (argv.length === 0 || argv.includes(c.name)) await capture(c);
}

await main(process.argv.slice(2));
