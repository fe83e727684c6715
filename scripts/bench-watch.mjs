// npm run bench: how fast kvmnet puts things back and answers a guest, as figures (the tests assert only that it
// does: a loaded machine makes it slower, not wrong).
// - kvmnet watch: ms from `nft flush ruleset` (and from `nft delete table inet kvmnet`) until the network's chain
//   is back, polled every 2 ms; the same for the iptables backend's FORWARD jump after `iptables -F FORWARD`.
// - DHCP: ms of one udhcpc exchange (DISCOVER to the applied lease) of a guest namespace on a network that is up.
// All in namespaces made here (test addresses only), removed afterwards. Usage: node scripts/bench-watch.mjs
// (BENCH_WATCH_RUNS rounds each, default 10). Rounds are 2.5 s apart, so that watch's back-off (5 re-applies in
// 10 s) is never what is measured.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const runs = Number(process.env.BENCH_WATCH_RUNS ?? 10);
const id = process.pid.toString(36);
const host = `kvbw-h-${id}`;
const guest = `kvbw-g-${id}`;
const dir = mkdtempSync(join(tmpdir(), "kvmnet-bench-watch-"));
chmodSync(dir, 0o755);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (ns, line) => execFileSync("ip", ["netns", "exec", ns, "sh", "-c", line], { encoding: "utf8" }).trim();
const ok = (ns, line) => {
  try {
    execFileSync("ip", ["netns", "exec", ns, "sh", "-c", line], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];

function config(firewall) {
  const file = join(dir, `${firewall}.conf`);
  writeFileSync(
    file,
    `[global]\nstate_dir = ${dir}/run-${firewall}\nlease_dir = ${dir}/lib-${firewall}\nfirewall = ${firewall}\n\n` +
      `[nat0]\nmode = nat\nbridge = kvbw0\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n`,
  );
  chmodSync(file, 0o644);
  return file;
}

/** ms until CHECK holds, polled every 2 ms (null after 30 s). */
async function until(check) {
  const t0 = process.hrtime.bigint();
  for (;;) {
    if (check()) return Number(process.hrtime.bigint() - t0) / 1e6;
    if (Number(process.hrtime.bigint() - t0) > 30e9) return null;
    await sleep(2);
  }
}

async function watchCase(firewall, cases) {
  const conf = config(firewall);
  const env = { ...process.env, KVMNET_CONFIG: conf };
  execFileSync("ip", ["netns", "add", host]);
  try {
    sh(host, "ip link set lo up && ip tuntap add vm0 mode tap");
    execFileSync("ip", ["netns", "exec", host, join(root, "dist/qemu-natup.cjs"), "vm0"], { env });
    const w = spawn("ip", ["netns", "exec", host, join(root, "dist/kvmnet.cjs"), "watch", "--verbose"], { env });
    let log = "";
    w.stdout.on("data", (d) => (log += d));
    w.stderr.on("data", (d) => (log += d));
    while (!log.includes("waiting for changes")) await sleep(20);
    const rows = [];
    for (const [name, cmd, back] of cases) {
      const times = [];
      for (let i = 0; i < runs; i++) {
        await sleep(2_500);
        sh(host, cmd);
        const ms = await until(() => ok(host, back));
        if (ms !== null) times.push(ms);
      }
      rows.push(
        `| ${firewall} | ${name} | ${median(times)?.toFixed(0)} | ${p90(times)?.toFixed(0)} | ${times.length}/${runs} |`,
      );
    }
    w.kill("SIGTERM");
    await new Promise((r) => w.once("exit", r));
    return rows;
  } finally {
    down(env);
  }
}

// kvmnet down inside the namespace (stops its dnsmasq), then the namespace goes.
function down(env) {
  try {
    execFileSync("ip", ["netns", "exec", host, join(root, "dist/kvmnet.cjs"), "down", "nat0", "--force"], {
      env,
      stdio: "ignore",
    });
  } catch {
    // nothing was up
  }
  execFileSync("ip", ["netns", "del", host], { stdio: "ignore" });
}

async function dhcpCase() {
  const conf = config("nftables");
  const env = { ...process.env, KVMNET_CONFIG: conf };
  const script = join(dir, "udhcpc.sh");
  writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface"\nexit 0\n');
  chmodSync(script, 0o755);
  execFileSync("ip", ["netns", "add", host]);
  execFileSync("ip", ["netns", "add", guest]);
  try {
    sh(host, "ip link set lo up");
    execFileSync("ip", ["-n", host, "link", "add", "vm0", "type", "veth", "peer", "name", "eth0", "netns", guest]);
    sh(guest, "ip link set lo up && ip link set eth0 up");
    execFileSync("ip", ["netns", "exec", host, join(root, "dist/qemu-natup.cjs"), "vm0"], { env });
    const times = [];
    for (let i = 0; i < runs; i++) {
      sh(guest, "ip addr flush dev eth0");
      const t0 = process.hrtime.bigint();
      sh(guest, `busybox udhcpc -i eth0 -n -q -f -t 6 -T 1 -s ${script} >/dev/null 2>&1`);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return `| nftables | one DHCP exchange (udhcpc, network up) | ${median(times).toFixed(0)} | ${p90(times).toFixed(0)} | ${times.length}/${runs} |`;
  } finally {
    down(env);
    execFileSync("ip", ["netns", "del", guest], { stdio: "ignore" });
  }
}

try {
  const rows = [
    ...(await watchCase("nftables", [
      ["kvmnet watch: chain back after nft flush ruleset", "nft flush ruleset", "nft list chain inet kvmnet from-nat0"],
      [
        "kvmnet watch: chain back after nft delete table inet kvmnet",
        "nft delete table inet kvmnet",
        "nft list chain inet kvmnet from-nat0",
      ],
    ])),
    ...(await watchCase("iptables", [
      [
        "kvmnet watch: FORWARD jump back after iptables -F FORWARD",
        "iptables -F FORWARD",
        "iptables -S FORWARD | grep -q KVMNET-FORWARD",
      ],
    ])),
    await dhcpCase(),
  ];
  console.log("\n### kvmnet watch and DHCP\n");
  console.log("| backend | what | median ms | p90 ms | rounds |\n| --- | --- | --- | --- | --- |");
  console.log(rows.join("\n"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
