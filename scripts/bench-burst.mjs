// npm run bench with BENCH_BURST=1 (or alone: node scripts/bench-burst.mjs): 40 first VMs starting at once on one
// cold network, this tree against the first release, alternately round by round in one run (the machine is shared
// and noisy: only figures from one run compare). The first release is the commit before the shared firewall
// (28c7799), built by scripts/bench-tree.mjs into .cache/ (never committed).
// Each round: the network is down, 40 taps exist as QEMU makes them (held open by one process), then all 40
// qemu-natup start together; the time is from the first start to the last exit. Each natup is timed too, and
// where its time went: before the network's lock (node's start, the config, the first look at the host), waiting
// for the lock, and under it (looking, deciding, applying), from the spawns it made (a preload logs them); and the
// CPU time the burst took (every hook, what it ran, and its `ip netns exec`), per hook.
// With BENCH_BEFORE=REV (a git revision, e.g. main) that revision's programs take their turn too; so do this tree's
// hooks served by a kvmnet watch (this tree's own rounds tell them to run on their own: KVMNET_LOCAL=1).
// Usage: node scripts/bench-burst.mjs (BENCH_BURST_ROUNDS rounds per version, default 5; BENCH_BURST_VMS, 40)
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWatch, stopWatch } from "./bench-served.mjs";
import { distOf } from "./bench-tree.mjs";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const FIRST = "28c7799~1";
const root = resolve(import.meta.dirname, "..");
const rounds = Number(process.env.BENCH_BURST_ROUNDS ?? 5);
const vms = Number(process.env.BENCH_BURST_VMS ?? 40);

const before = process.env.BENCH_BEFORE;
const versions = [
  { name: "first release", dist: distOf(FIRST) },
  { name: "this tree", dist: join(root, "dist"), env: { KVMNET_LOCAL: "1" } },
  ...(before ? [{ name: `before (${before})`, dist: distOf(before) }] : []),
  // The hooks hand their runs to a kvmnet watch of this tree, started for the round and stopped after it (the
  // first hook still starts dnsmasq itself: the others wait for it under the network's lock, then are served).
  { name: "this tree, served by kvmnet watch", dist: join(root, "dist"), watch: true },
];
const ns = `kburst-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "kvmnet-burst-"));
chmodSync(dir, 0o755); // kvmnet trusts a state_dir only if root owns it and nobody else can write
const conf = join(dir, "kvmnet.conf");
const env = { PATH, KVMNET_CONFIG: conf };
writeFileSync(
  conf,
  `[global]\nstate_dir = ${dir}/run\nlease_dir = ${dir}/lib\n[burst]\nmode = nat\nbridge = kburst0\n` +
    `address = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.250\n`,
);
chmodSync(conf, 0o644);
// A preload that logs a hook's spawns (command, start, end, ms since the process began) to $BURST_LOG.
const preload = join(dir, "spawns.cjs");
writeFileSync(
  preload,
  `const cp = require("node:child_process"), fs = require("node:fs"), { performance } = require("node:perf_hooks");
const sync = cp.spawnSync, log = [];
cp.spawnSync = function (cmd, args) {
  const t = performance.now(), r = sync.apply(this, arguments);
  log.push([String(cmd).split("/").pop() + " " + (args || []).slice(0, 2).join(" "), t, performance.now()]);
  return r;
};
// This tree's lock takes no process: its link(2) calls are logged instead (the last one, which succeeded, took it).
const link = fs.linkSync;
fs.linkSync = function () {
  const t = performance.now();
  try {
    return link.apply(this, arguments);
  } finally {
    log.push(["link", t, performance.now()]);
  }
};
process.on("exit", () => fs.appendFileSync(process.env.BURST_LOG, JSON.stringify({ log, end: performance.now() }) + "\\n"));
`,
);
const taps = Array.from({ length: vms }, (_, i) => `vbu${i}`);
// 40 taps as QEMU makes them (TUNSETIFF on /dev/net/tun, not persistent), held by one perl process.
const HOLD = `my @t; for my $n (@ARGV) { open(my $t, "+<", "/dev/net/tun") or die "open: $!";
my $ifr = pack("a16 s x22", $n, 0x1002); ioctl($t, 0x400454ca, $ifr) or die "TUNSETIFF: $!"; push @t, $t; }
$| = 1; print "ready\\n"; <STDIN>;`;
const inNs = (argv, extra = {}) => ["ip", ["netns", "exec", ns, ...argv], { env: { ...env, ...extra } }];

/** One burst of VERSION: all natups at once; the wall time, and each hook's phases from its log. */
async function burst(version, round) {
  const log = join(dir, `burst-${round}-${version.name.replace(/[^a-z0-9]/gi, "-")}.log`);
  const hookEnv = { NODE_OPTIONS: `--require ${preload}`, BURST_LOG: log, ...version.env };
  const [wcmd, wargs, wopts] = inNs(["node", join(version.dist, "kvmnet.cjs"), "watch"]);
  const watch = version.watch ? await startWatch([wcmd, ...wargs], wopts.env) : null;
  const cpu0 = childrenCpuMs() + (watch ? processCpuMs(watch.pid) : 0);
  const t0 = process.hrtime.bigint();
  const codes = await Promise.all(
    taps.map(
      (t) =>
        new Promise((ok) => {
          const [cmd, args, opts] = inNs(["node", join(version.dist, "qemu-natup.cjs"), t], hookEnv);
          const c = spawn(cmd, args, { ...opts, stdio: ["ignore", "ignore", "pipe"] });
          let err = "";
          c.stderr.on("data", (d) => (err += d));
          c.on("exit", (code) => ok({ code, err }));
        }),
    ),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = (childrenCpuMs() + (watch ? processCpuMs(watch.pid) : 0) - cpu0) / vms;
  if (watch) await stopWatch(watch);
  const bad = codes.find((c) => c.code !== 0);
  if (bad) throw new Error(`${version.name}: a natup failed: ${bad.err}`);
  const attached = execFileSync(...inNs(["sh", "-c", "ls /sys/class/net/kburst0/brif | wc -l"]), { encoding: "utf8" });
  if (Number(attached) !== vms) throw new Error(`${version.name}: ${attached.trim()} taps attached, not ${vms}`);
  const hooks = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  execFileSync(...inNs(["node", join(version.dist, "kvmnet.cjs"), "down", "burst", "--force"]), { stdio: "ignore" });
  return { ms, cpu, hooks };
}

// Where one hook's time went: before the lock (node's start, the config, the first look at the host), waiting for
// it (the first release: its flock process; this tree: from its first link(2), or its queue's `flock` when that came
// first, to the link(2) that took the lock: the queue's head still waits on the holder's socket after its flock),
// and under it to the end (looking, deciding, applying, and node's exit).
// A hook served by a kvmnet watch takes no lock: null (its time is its whole run; the watch's work is in its CPU).
function phases({ log, end }) {
  const flock = log.find((s) => s[0].startsWith("flock"));
  const links = log.filter((s) => s[0] === "link");
  if (!flock && !links.length) return null;
  const [from, to] = links.length
    ? [Math.min(links[0][1], flock?.[1] ?? Infinity), links.at(-1)[2]]
    : [flock[1], flock[2]];
  return { before: from, wait: to - from, under: end - to, spawns: log.filter((s) => s[0] !== "link").length };
}

// CPU time (ms) of this process' children that have been waited for, hooks and what they ran included.
function childrenCpuMs() {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // cutime, cstime (fields 16, 17) in USER_HZ ticks
}

// CPU time (ms) of process PID and of its children it has waited for (a watch and the commands it ran).
function processCpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100; // fields 14-17
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let holder;
try {
  execFileSync("ip", ["netns", "add", ns]);
  execFileSync(...inNs(["ip", "link", "set", "lo", "up"]));
  holder = spawn("ip", ["netns", "exec", ns, "perl", "-e", HOLD, ...taps], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    holder.stdout.once("data", ok);
    holder.once("exit", fail);
  });
  const results = versions.map(() => []);
  for (let r = -1; r < rounds; r++) {
    // Alternately, each round starting with the other version; round -1 warms the page cache and is dropped.
    for (let k = 0; k < versions.length; k++) {
      const i = (k + r + 1) % versions.length;
      const res = await burst(versions[i], r);
      if (r >= 0) results[i].push(res);
    }
  }
  console.log(`\n### ${vms} first VMs at once on one cold network (${rounds} rounds each, alternately)\n`);
  console.log(
    "| version | wall time, median (min–max) | × first release | per hook, median: before the lock / waiting / " +
      "under it | CPU per hook, median | spawns per hook |\n| --- | --- | --- | --- | --- | --- |",
  );
  const base = median(results[0].map((r) => r.ms));
  for (const [i, v] of versions.entries()) {
    const walls = results[i].map((r) => r.ms);
    const all = results[i].flatMap((r) => r.hooks);
    const ph = all.map(phases).filter((p) => p !== null);
    const servedHooks = all.length - ph.length;
    const m = (k) => (ph.length ? median(ph.map((p) => p[k])).toFixed(0) : "—");
    console.log(
      `| ${v.name} | ${(median(walls) / 1000).toFixed(2)} s (${(Math.min(...walls) / 1000).toFixed(2)}–` +
        `${(Math.max(...walls) / 1000).toFixed(2)}) | ${(median(walls) / base).toFixed(2)} | ` +
        `${m("before")} / ${m("wait")} / ${m("under")} ms${servedHooks ? ` (the ${ph.length} not served)` : ""} | ` +
        `${median(results[i].map((r) => r.cpu)).toFixed(0)} ms | ${m("spawns")}${servedHooks ? `; ${servedHooks} served: 0` : ""} |`,
    );
  }
  const ratio = median(results[1].map((r) => r.ms)) / base;
  console.log(
    `\n- ${vms} VMs at once: ${ratio.toFixed(2)}× the first release (target ≤ 1: ${ratio <= 1 ? "met" : "not met"})`,
  );
  for (const [i, v] of versions.entries())
    if (i >= 2)
      console.log(`- ${v.name}: ${(median(results[i].map((r) => r.ms)) / base).toFixed(2)}× the first release`);
} finally {
  holder?.kill("SIGTERM");
  execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
