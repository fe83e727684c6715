// npm run bench: attach time of qemu-natup, cold and warm, as ratios against `node -e 0` and against a
// one-line `ip link set TAP master BR up` hook, all measured side by side in one hyperfine run per case
// (this machine is noisy: only ratios within one run mean anything). Runs in namespaces it creates.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const natup = join(root, "dist/qemu-natup.cjs");
const natdown = join(root, "dist/qemu-natdown.cjs");
const ns = `kbench-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "kvmnet-bench-"));
chmodSync(dir, 0o755);
const conf = join(dir, "kvmnet.conf");
const runs = Number(process.env.BENCH_RUNS ?? 30);
const sh = (line) => execFileSync("ip", ["netns", "exec", ns, "sh", "-c", line], { encoding: "utf8" });

writeFileSync(
  conf,
  `[global]\nstate_dir = ${dir}/run\nlease_dir = ${dir}/lib\n[bench]\nmode = nat\nbridge = kbench0\naddress = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.250\nteardown = when-idle\n`,
);
chmodSync(conf, 0o644);
const ipHook = join(dir, "ip-hook.sh");
writeFileSync(ipHook, '#!/bin/sh\nip link set "$1" master kbench0 up\n');
chmodSync(ipHook, 0o755);

function hyperfine(name, commands, prepare) {
  const out = join(dir, `${name}.json`);
  const args = [
    "netns",
    "exec",
    ns,
    "hyperfine",
    "-N",
    "--warmup",
    "3",
    "--runs",
    String(runs),
    "--export-json",
    out,
    "--style",
    "none",
  ];
  if (prepare) args.push("--prepare", prepare);
  execFileSync("ip", [...args, ...commands], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, KVMNET_CONFIG: conf },
  });
  return JSON.parse(readFileSync(out, "utf8")).results.map((r) => ({
    command: r.command,
    mean: r.mean * 1000,
    stddev: r.stddev * 1000,
  }));
}

function report(title, results) {
  const [base, ipHookRes] = [
    results.find((r) => r.command === "node -e 0"),
    results.find((r) => r.command.includes("ip-hook")),
  ];
  console.log(`\n${title}`);
  for (const r of results) {
    const vsNode = (r.mean / base.mean).toFixed(2);
    const vsIp = ipHookRes ? (r.mean / ipHookRes.mean).toFixed(1) : "-";
    console.log(
      `  ${r.command.padEnd(60)} ${r.mean.toFixed(1).padStart(7)} ms ± ${r.stddev.toFixed(1).padStart(5)}   ×node -e 0: ${vsNode.padStart(5)}   ×ip hook: ${vsIp.padStart(5)}`,
    );
  }
}

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
  // The ip hook needs the bridge to exist: bring the network up once.
  execFileSync("ip", ["netns", "exec", ns, natup, "vbench"], { env: { ...process.env, KVMNET_CONFIG: conf } });
  // Back to a fresh tap: off the bridge and down, as QEMU hands it to the script.
  const detach = `ip link set vbench nomaster down`;
  report(
    "warm attach, 1 tap (network up, tap not yet attached)",
    hyperfine("warm1", ["node -e 0", `${ipHook} vbench`, `${natup} vbench`], detach),
  );
  report(
    "already attached (QEMU re-running the script; nothing to do)",
    hyperfine("noop", ["node -e 0", `${natup} vbench`]),
  );
  sh(
    Array.from({ length: 200 }, (_, i) => `ip tuntap add vb${i} mode tap && ip link set vb${i} master kbench0 up`).join(
      " && ",
    ),
  );
  report(
    "warm attach with 200 taps attached",
    hyperfine("warm200", ["node -e 0", `${ipHook} vbench`, `${natup} vbench`], detach),
  );
  sh(Array.from({ length: 200 }, (_, i) => `ip link del vb${i}`).join(" && "));
  // Cold: natdown of the only tap tears the network down (teardown = when-idle) before each run.
  report(
    "cold attach (bridge, forwarding, nft table, dnsmasq, tap)",
    hyperfine("cold", ["node -e 0", `${natup} vbench`], `${natdown} vbench`),
  );
  execFileSync("ip", ["netns", "exec", ns, natdown, "vbench"], { env: { ...process.env, KVMNET_CONFIG: conf } });
} finally {
  holder?.kill("SIGTERM");
  execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
