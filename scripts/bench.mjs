// npm run bench: what kvmnet's hooks cost a VM, as ratios measured side by side in one run (this machine is shared
// and noisy: only ratios within one run mean anything).
// - Attach time of qemu-natup, warm and cold, as the npm install runs it (dist/qemu-natup.cjs) and as the single
//   executable (built here by scripts/binaries.mjs from this tree), against `node -e 0` and a one-line
//   `ip link set TAP master BR up` hook.
// - A VM's start + stop with each kind of network setup: a real QEMU (microvm, a virtio NIC, paused with -S and
//   told `quit` on its monitor at once), with no script, with `-netdev bridge` (QEMU's C qemu-bridge-helper), and
//   with kvmnet's qemu-natup/qemu-natdown on a network that is up: the ms each adds to QEMU's own, also as a
//   multiple of `node -e 0` measured in the same run (the targets are ratios: absolute times differ by machine).
// - Both again while a `kvmnet watch` of this build runs in the namespace, which the hooks hand their runs to
//   ("served"), beside the same hooks told to run on their own (KVMNET_LOCAL=1) in the same rounds.
// - With BENCH_BEFORE=REV (a git revision, e.g. main): that revision's npm programs and single executable measured
//   in the same rounds, built into .cache/ by scripts/bench-tree.mjs ("before" rows), and (with BENCH_BURST) its
//   40 VMs at once beside this tree's.
// - With BENCH_BURST=1: 40 first VMs at once on one cold network against the first release (scripts/bench-burst.mjs).
// Every case runs in a namespace made here, its commands interleaved round by round (each round starting at the
// next command) so that the machine's noise falls on all of them alike; each figure is the median. Every command
// gets the clean environment a VM manager hands its hooks (PATH and KVMNET_CONFIG only): a NODE_EXTRA_CA_CERTS in
// the caller's environment makes every node start parse that bundle (about 45 ms here), which would hide the hook.
// Usage: node scripts/bench.mjs (BENCH_RUNS rounds per case, default 30; BENCH_QEMU_RUNS for the QEMU case, 20)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWatch, stopWatch } from "./bench-served.mjs";
import { distOf, seaOf } from "./bench-tree.mjs";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Inner mode, run inside the namespace by the outer one: node bench.mjs --measure SPEC.json OUT.json
if (process.argv[2] === "--measure") {
  const spec = JSON.parse(readFileSync(process.argv[3], "utf8"));
  writeFileSync(process.argv[4], JSON.stringify(measure(spec)));
  process.exit(0);
}

/** Times each of SPEC.commands (argv, optional input, prepare line, env) SPEC.runs times, interleaved. */
function measure({ runs, warmup, commands, env }) {
  const times = commands.map(() => []);
  for (let round = -warmup; round < runs; round++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (k + round + warmup) % commands.length;
      const c = commands[i];
      if (c.prepare) execFileSync("sh", ["-c", c.prepare], { env: { ...env, PATH }, stdio: "ignore" });
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.argv[0], c.argv.slice(1), {
        env: c.env ?? env,
        input: c.input,
        stdio: [c.input ? "pipe" : "ignore", "ignore", "pipe"],
        encoding: "utf8",
      });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.argv.join(" ")}: exit ${r.status ?? r.signal}: ${r.stderr ?? r.error}`);
      if (round >= 0) times[i].push(ms);
    }
  }
  return commands.map((c, i) => {
    const t = times[i].sort((a, b) => a - b);
    const q = (p) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
    return { name: c.name, median: q(0.5), p25: q(0.25), p75: q(0.75), min: t[0] };
  });
}

const root = resolve(import.meta.dirname, "..");
const natup = join(root, "dist/qemu-natup.cjs");
const natdown = join(root, "dist/qemu-natdown.cjs");
const ns = `kbench-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "kvmnet-bench-"));
chmodSync(dir, 0o755); // kvmnet trusts a state_dir only if root owns it and its parents and nobody else can write
const conf = join(dir, "kvmnet.conf");
const runs = Number(process.env.BENCH_RUNS ?? 30);
const qemuRuns = Number(process.env.BENCH_QEMU_RUNS ?? 20);
const env = { PATH, KVMNET_CONFIG: conf };
const sh = (line) => execFileSync("ip", ["netns", "exec", ns, "sh", "-c", line], { encoding: "utf8", env });
const started = Date.now();

writeFileSync(
  conf,
  [
    `[global]\nstate_dir = ${dir}/run\nlease_dir = ${dir}/lib\n[bench]\nmode = nat\nbridge = kbench0`,
    `address = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.250\nteardown = when-idle\n`,
  ].join("\n"),
);
chmodSync(conf, 0o644);
const ipHook = join(dir, "ip-hook.sh");
writeFileSync(ipHook, '#!/bin/sh\nip link set "$1" master kbench0 up\n');
chmodSync(ipHook, 0o755);

// The single executable of this tree, answering as qemu-natup / qemu-natdown by the name it is run as.
const sea = join(dir, "sea");
mkdirSync(sea);
execFileSync(process.execPath, [join(root, "scripts/binaries.mjs"), join(sea, "kvmnet")], { stdio: "ignore" });
for (const name of ["qemu-natup", "qemu-natdown"]) symlinkSync(join(sea, "kvmnet"), join(sea, name));
const seaUp = join(sea, "qemu-natup");
const seaDown = join(sea, "qemu-natdown");
const beforeRev = process.env.BENCH_BEFORE;
const before = beforeRev ? distOf(beforeRev) : null;
const beforeUp = before && join(before, "qemu-natup.cjs");
const beforeDown = before && join(before, "qemu-natdown.cjs");
// The other revision's single executable, answering to the hooks' names the same way.
const beforeSeaExe = beforeRev ? seaOf(beforeRev) : null;
const beforeSea = beforeSeaExe && join(dir, "sea-before");
if (beforeSea) {
  mkdirSync(beforeSea);
  for (const name of ["qemu-natup", "qemu-natdown"]) symlinkSync(beforeSeaExe, join(beforeSea, name));
}
const beforeSeaUp = beforeSea && join(beforeSea, "qemu-natup");
const beforeSeaDown = beforeSea && join(beforeSea, "qemu-natdown");

/** Runs CASE's commands inside the namespace (WRAP: a command line to run the measuring node under). */
function run(id, commands, { rounds = runs, wrap = [] } = {}) {
  const spec = join(dir, `${id}.spec.json`);
  const out = join(dir, `${id}.json`);
  writeFileSync(spec, JSON.stringify({ runs: rounds, warmup: 3, commands, env }));
  const me = [process.execPath, resolve(import.meta.filename), "--measure", spec, out];
  const argv = [...wrap, "ip", "netns", "exec", ns, ...me];
  execFileSync(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "inherit"], env });
  return JSON.parse(readFileSync(out, "utf8"));
}

const fmt = (ms) => ms.toFixed(1);
const summary = [];
const target = (value, limit, unit = "") =>
  `${value.toFixed(unit === " ms" ? 1 : 2)}${unit} (target ≤ ${limit}${unit}: ${value <= limit ? "met" : "not met"})`;

/** Prints a case's table: median ms, its spread, and ratios against `node -e 0` and the ip hook. */
function report(title, results) {
  const by = (name) => results.find((r) => r.name === name);
  const node = by("node -e 0");
  const ip = by("one-line ip hook");
  console.log(`\n### ${title}\n`);
  console.log("| command | median ms (p25–p75) | × `node -e 0` | × ip hook |\n| --- | --- | --- | --- |");
  for (const r of results) {
    const x = (b) => (b ? (r.median / b.median).toFixed(2) : "");
    console.log(`| ${r.name} | ${fmt(r.median)} (${fmt(r.p25)}–${fmt(r.p75)}) | ${x(node)} | ${x(ip)} |`);
  }
  const ratio = (name) => by(name).median / node.median;
  ratio.ms = (name) => by(name).median;
  return ratio;
}

const DETACH = "ip link set vbench nomaster down"; // back to a fresh tap, as QEMU hands it to the script
// The floor of a warm attach as kvmnet does it: node, then only the two processes it must run, by absolute path,
// one after the other (the firewall's quick look at network bench's rules, then the attach), and no other code.
// What a warm attach costs above it is kvmnet's own: loading its code, the config, the lock, the reads, deciding.
const tool = (name) => execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8", env }).trim();
const floor = join(dir, "floor.cjs");
writeFileSync(
  floor,
  [
    `const { spawnSync } = require("node:child_process");`,
    `const run = (f, a) => { if (spawnSync(f, a, { encoding: "utf8" }).status !== 0) process.exit(1); };`,
    `if (process.argv[2] !== "attach-only")`,
    `  run(${JSON.stringify(tool("nft"))}, ["list", "chain", "inet", "kvmnet", "from-bench", ";", "list", "map", "inet", "kvmnet", "fwd_iif"]);`,
    `run(${JSON.stringify(tool("ip"))}, ["link", "set", "dev", "vbench", "mtu", "1500", "master", "kbench0", "up"]);`,
  ].join("\n"),
);
// The same two processes started together and waited for (node's asynchronous spawn): the least a warm attach
// could cost if its look and its attach overlapped.
const floorAtOnce = join(dir, "floor-at-once.cjs");
writeFileSync(
  floorAtOnce,
  [
    `const { execFile } = require("node:child_process");`,
    `const run = (f, a) => new Promise((ok) => execFile(f, a, (e) => (e ? process.exit(1) : ok())));`,
    `Promise.all([`,
    `  run(${JSON.stringify(tool("nft"))}, ["list", "chain", "inet", "kvmnet", "from-bench", ";", "list", "map", "inet", "kvmnet", "fwd_iif"]),`,
    `  run(${JSON.stringify(tool("ip"))}, ["link", "set", "dev", "vbench", "mtu", "1500", "master", "kbench0", "up"]),`,
    `]);`,
  ].join("\n"),
);
const floorRows = [
  { name: "floor: node + nft quick look + ip link set, nothing else", argv: ["node", floor], prepare: DETACH },
  { name: "floor: node + ip link set only", argv: ["node", floor, "attach-only"], prepare: DETACH },
  { name: "floor: node + the look and ip link set at once", argv: ["node", floorAtOnce], prepare: DETACH },
];
const npmRows = (args, prepare) => [
  { name: "npm: dist/qemu-natup.cjs (#!/usr/bin/env node)", argv: [natup, ...args], prepare },
  { name: "npm: node dist/qemu-natup.cjs", argv: ["node", natup, ...args], prepare },
  { name: "single executable", argv: [seaUp, ...args], prepare },
  ...(before ? [{ name: `before (${beforeRev}), npm: dist/qemu-natup.cjs`, argv: [beforeUp, ...args], prepare }] : []),
  ...(beforeSea ? [{ name: `before (${beforeRev}), single executable`, argv: [beforeSeaUp, ...args], prepare }] : []),
];
const baseRows = (prepare) => [
  { name: "node -e 0", argv: ["node", "-e", "0"], prepare },
  { name: "one-line ip hook", argv: [ipHook, "vbench"], prepare },
];

// The VM's tap as QEMU makes it: held open by a live process, not persistent (perl does the TUNSETIFF).
const HOLD = `open(my $t, "+<", "/dev/net/tun") or die "open: $!";
my $ifr = pack("a16 s x22", "vbench", 0x1002); ioctl($t, 0x400454ca, $ifr) or die "TUNSETIFF: $!";
$| = 1; print "ready\\n"; <STDIN>;`;
let holder;

try {
  execFileSync("ip", ["netns", "add", ns]);
  sh("ip link set lo up");
  holder = spawn("ip", ["netns", "exec", ns, "perl", "-e", HOLD], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    holder.stdout.once("data", ok);
    holder.once("exit", fail);
  });
  // The network comes up once; the held tap stays on it (teardown = when-idle keeps it up) for the warm cases.
  sh(`${natup} vbench`);

  // What the caller's environment costs node at every start (NODE_EXTRA_CA_CERTS: parsing that bundle), shown
  // beside the clean figures when it is set: the issue's first figures were measured in such an environment.
  const extraEnv = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"].filter((v) => process.env[v]);
  const callerEnv = { ...process.env, ...env };
  const inCaller = extraEnv.length ? ` (caller's environment: ${extraEnv.join(", ")})` : "";
  const warm = report("warm attach, 1 tap (network up, new tap)", [
    ...run("warm1", [
      { name: "/bin/true (the measuring's own cost)", argv: ["true"] },
      ...baseRows(DETACH),
      ...npmRows(["vbench"], DETACH),
      ...floorRows,
      ...(inCaller
        ? [
            { name: `node -e 0${inCaller}`, argv: ["node", "-e", "0"], env: callerEnv },
            { ...npmRows(["vbench"], DETACH)[0], name: `npm: dist/qemu-natup.cjs${inCaller}`, env: callerEnv },
            { ...npmRows(["vbench"], DETACH)[2], name: `single executable${inCaller}`, env: callerEnv },
          ]
        : []),
      // Loading the program only (no config, no network): what JavaScript and Node's modules cost.
      { name: "npm: node dist/qemu-natup.cjs --help", argv: ["node", natup, "--help"] },
      { name: "single executable --help", argv: [seaUp, "--help"] },
    ]),
  ]);
  summary.push(
    `warm attach, single executable: ${target(warm("single executable"), 1.5, "×")} node -e 0`,
    `warm attach, npm: ${warm("npm: dist/qemu-natup.cjs (#!/usr/bin/env node)").toFixed(2)}× node -e 0`,
    `warm attach, its floor (node + the nft quick look + ip link set, no other code): ${warm(floorRows[0].name).toFixed(2)}× node -e 0; node + ip link set only: ${warm(floorRows[1].name).toFixed(2)}×; the look and ip link set at once: ${warm(floorRows[2].name).toFixed(2)}×`,
    `warm attach, loading the program alone (--help): ${warm("single executable --help").toFixed(2)}× (single executable), ${warm("npm: node dist/qemu-natup.cjs --help").toFixed(2)}× (npm)`,
    ...(before ? [`warm attach, before (${beforeRev}), npm: ${warm(npmRows([])[3].name).toFixed(2)}× node -e 0`] : []),
    ...(beforeSea
      ? [`warm attach, before (${beforeRev}), single executable: ${warm(npmRows([])[4].name).toFixed(2)}× node -e 0`]
      : []),
  );
  if (inCaller) {
    const x = (name) => target(warm(name) / warm(`node -e 0${inCaller}`), 1.5, "×");
    summary.push(
      `warm attach, single executable${inCaller}: ${x(`single executable${inCaller}`)} node -e 0 there`,
      `warm attach, npm${inCaller}: ${x(`npm: dist/qemu-natup.cjs${inCaller}`)} node -e 0 there`,
    );
  }
  report(
    "already attached (QEMU re-running the script; nothing to do)",
    run("noop", [{ name: "node -e 0", argv: ["node", "-e", "0"] }, ...npmRows(["vbench"])]),
  );

  const taps = Array.from({ length: 200 }, (_, i) => `vb${i}`);
  sh(taps.map((t) => `ip tuntap add ${t} mode tap && ip link set ${t} master kbench0 up`).join(" && "));
  report("warm attach with 200 taps attached", run("warm200", [...baseRows(DETACH), ...npmRows(["vbench"], DETACH)]));
  sh(taps.map((t) => `ip link del ${t}`).join(" && "));

  // A VM's start + stop. QEMU runs the script when it opens the tap and the downscript when it quits (the
  // network stays up: the held tap is still on it). -netdev bridge needs /etc/qemu/bridge.conf: the measuring
  // process runs in a private mount namespace with an overlay on /etc, so the host's /etc is never written.
  sh(`ip link set vbench master kbench0 up`);
  const qemu = (net) => ({
    argv: [
      "qemu-system-x86_64",
      ...["-M", "microvm", "-accel", "tcg", "-m", "64", "-nodefaults", "-display", "none", "-S"],
      ...["-monitor", "stdio", "-netdev", net, "-device", "virtio-net-device,netdev=n0"],
    ],
    input: "quit\n",
  });
  const tap = (up, down) => `tap,id=n0,ifname=vq0,script=${up},downscript=${down}`;
  // The floor of any hook written for node: QEMU running two node scripts that do nothing (its own fork and exec
  // of each, and two node starts).
  const emptyHook = join(dir, "empty-hook.cjs");
  writeFileSync(emptyHook, "#!/usr/bin/env node\n", { mode: 0o755 });
  const overlay = join(dir, "etc");
  mkdirSync(join(overlay, "upper/qemu"), { recursive: true });
  mkdirSync(join(overlay, "work"));
  writeFileSync(join(overlay, "upper/qemu/bridge.conf"), "allow kbench0\n");
  const layers = `lowerdir=/etc,upperdir=${overlay}/upper,workdir=${overlay}/work`;
  const mountEtc = `mount -t overlay kbench-etc -o ${layers} /etc`;
  const vm = run(
    "qemu",
    [
      { name: "QEMU, no script (script=no)", ...qemu(tap("no", "no")) },
      { name: "node -e 0", argv: ["node", "-e", "0"] },
      { name: "QEMU, -netdev bridge (qemu-bridge-helper)", ...qemu("bridge,id=n0,br=kbench0") },
      { name: "QEMU, two empty node scripts (the floor of node hooks)", ...qemu(tap(emptyHook, emptyHook)) },
      { name: "QEMU, kvmnet npm (dist/qemu-natup.cjs, qemu-natdown.cjs)", ...qemu(tap(natup, natdown)) },
      { name: "QEMU, kvmnet single executable", ...qemu(tap(seaUp, seaDown)) },
      ...(before ? [{ name: `QEMU, before (${beforeRev}), npm`, ...qemu(tap(beforeUp, beforeDown)) }] : []),
      ...(beforeSea
        ? [{ name: `QEMU, before (${beforeRev}), single executable`, ...qemu(tap(beforeSeaUp, beforeSeaDown)) }]
        : []),
      ...(inCaller
        ? [
            { name: `QEMU, kvmnet npm${inCaller}`, ...qemu(tap(natup, natdown)), env: callerEnv },
            { name: `QEMU, kvmnet single executable${inCaller}`, ...qemu(tap(seaUp, seaDown)), env: callerEnv },
          ]
        : []),
    ],
    {
      rounds: qemuRuns,
      wrap: ["unshare", "-m", "--propagation", "private", "sh", "-c", `${mountEtc} && exec "$@"`, "-"],
    },
  );
  const [own, nodeRow, ...setups] = vm;
  console.log(`\n### a VM's start + stop (QEMU microvm, paused, quit at once; network up)\n`);
  console.log(`\`node -e 0\` in the same rounds: ${fmt(nodeRow.median)} ms\n`);
  console.log(
    "| network setup | median ms (p25–p75) | added to QEMU's own, ms | added, × `node -e 0` |\n" +
      "| --- | --- | --- | --- |",
  );
  for (const r of [own, ...setups])
    console.log(
      `| ${r.name} | ${fmt(r.median)} (${fmt(r.p25)}–${fmt(r.p75)}) | ${fmt(r.median - own.median)} | ` +
        `${((r.median - own.median) / nodeRow.median).toFixed(2)} |`,
    );
  for (const r of setups.slice(2))
    summary.push(`${r.name}: adds ${target((r.median - own.median) / nodeRow.median, 3, "×")} node -e 0`);
  summary.push(`${setups[1].name}: adds ${((setups[1].median - own.median) / nodeRow.median).toFixed(2)}× node -e 0`);
  sh(DETACH);

  // Cold: natdown of the only tap tears the network down (teardown = when-idle) before each run.
  report(
    "cold attach (bridge, forwarding, nft table, dnsmasq, tap)",
    run("cold", [
      { name: "node -e 0", argv: ["node", "-e", "0"] },
      { ...npmRows(["vbench"])[0], prepare: `${natdown} vbench` },
      { ...npmRows(["vbench"])[2], prepare: `${seaDown} vbench` },
      ...(before ? [{ ...npmRows(["vbench"])[3], prepare: `${beforeDown} vbench` }] : []),
      ...(beforeSea ? [{ ...npmRows(["vbench"])[4], prepare: `${beforeSeaDown} vbench` }] : []),
    ]),
  );
  sh(`${natdown} vbench`);

  // Served by kvmnet watch: the warm attach and a VM's start + stop again, while a watch of this build runs in the
  // namespace (the single executable's watch serves the single executable's hooks, the npm one npm's; each hook
  // hands its run to it). The watch does its own work meanwhile: each tap joining or leaving the bridge is a pass.
  sh(`${natup} vbench && ${DETACH}`); // a cold start is left to the hook: the network is up before
  for (const [kind, up, down, watchArgv] of [
    ["single executable", seaUp, seaDown, [join(sea, "kvmnet")]],
    ["npm", natup, natdown, ["node", join(root, "dist/kvmnet.cjs")]],
  ]) {
    const watch = await startWatch(["ip", "netns", "exec", ns, ...watchArgv, "watch"], env);
    try {
      const local = { ...env, KVMNET_LOCAL: "1" };
      const served = report(
        `warm attach, served by kvmnet watch (${kind})`,
        run(`served-${kind}`, [
          ...baseRows(DETACH),
          { name: `${kind}, served`, argv: [up, "vbench"], prepare: DETACH },
          { name: `${kind}, on its own (KVMNET_LOCAL=1)`, argv: [up, "vbench"], prepare: DETACH, env: local },
        ]),
      );
      sh(`ip link set vbench master kbench0 up`);
      const [own, nodeRow, empty, hooks] = run(
        `served-qemu-${kind}`,
        [
          { name: "QEMU, no script (script=no)", ...qemu(tap("no", "no")) },
          { name: "node -e 0", argv: ["node", "-e", "0"] },
          { name: "QEMU, two empty node scripts", ...qemu(tap(emptyHook, emptyHook)) },
          { name: `QEMU, kvmnet ${kind}, served`, ...qemu(tap(up, down)) },
        ],
        { rounds: qemuRuns },
      );
      sh(DETACH);
      const added = (hooks.median - own.median) / nodeRow.median;
      const floorAdded = (empty.median - own.median) / nodeRow.median;
      console.log(
        `\nA VM's start + stop, hooks served (${kind}): ${fmt(hooks.median)} ms against QEMU's own ${fmt(own.median)}: ` +
          `adds ${fmt(hooks.median - own.median)} ms, ${added.toFixed(2)}× \`node -e 0\` (${fmt(nodeRow.median)} ms); ` +
          `two empty node scripts add ${fmt(empty.median - own.median)} ms, ${floorAdded.toFixed(2)}×`,
      );
      summary.push(
        `warm attach served by kvmnet watch, ${kind}: ${target(served(`${kind}, served`), 1.5, "×")} node -e 0 ` +
          `(on its own in the same rounds: ${served(`${kind}, on its own (KVMNET_LOCAL=1)`).toFixed(2)}×)`,
        `a VM's start + stop, hooks served by kvmnet watch, ${kind}: adds ${target(added, 3, "×")} node -e 0 ` +
          `(two empty node scripts in the same rounds: ${floorAdded.toFixed(2)}×)`,
      );
    } finally {
      await stopWatch(watch);
    }
  }
  sh(`${natdown} vbench`);

  console.log(`\n### against the targets (issue 20)\n`);
  for (const line of summary) console.log(`- ${line}`);
  if (process.env.BENCH_BURST)
    execFileSync(process.execPath, [join(root, "scripts/bench-burst.mjs")], { stdio: "inherit" });
  console.log(`\n(${Math.round((Date.now() - started) / 1000)} s, node ${process.version})`);
} finally {
  holder?.kill("SIGTERM");
  spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
