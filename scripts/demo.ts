// The main job, shown: a real tiny QEMU guest gets its network from kvmnet's qemu-natup on a NAT network,
// inside throwaway network namespaces (test addresses only; the host's own network is not touched).
// Run by scripts/demo.sh after the build; prints what happened and `kvmnet status`, then cleans up.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bootGuest, buildGuestInitramfs } from "../test/vm/initramfs.js";
import { stopDnsmasqIn, Netns } from "../test/helpers/netns.js";
import { startEchoAddress } from "../test/helpers/lab.js";

const root = resolve(import.meta.dirname, "..");
const id = process.pid.toString(36);
const host = `kvdemo-host-${id}`;
const outside = `kvdemo-out-${id}`;
const dir = mkdtempSync(join(tmpdir(), "kvmnet-demo-"));
chmodSync(dir, 0o755);
const conf = join(dir, "kvmnet.conf");
const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });
const inHost = (cmd: string, ...args: string[]) =>
  execFileSync("ip", ["netns", "exec", host, cmd, ...args], {
    encoding: "utf8",
    env: { ...process.env, KVMNET_CONFIG: conf },
  });
const say = (text: string) => process.stdout.write(`\n== ${text}\n`);

const CONFIG = `[global]
state_dir = ${dir}/run
lease_dir = ${dir}/lib

[demo]
mode       = nat
bridge     = kvdemo0
address    = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
host.web   = 52:54:00:12:34:56,192.0.2.10   ; static lease, and "web" in kvmnet's DNS
teardown   = when-idle
`;

async function main(): Promise<number> {
  say(`namespaces: ${host} (the KVM host, uplink 203.0.113.1) and ${outside} (the outside world, 203.0.113.2)`);
  ip("netns", "add", host);
  ip("netns", "add", outside);
  ip("-n", host, "link", "set", "lo", "up");
  ip("-n", host, "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", outside);
  ip("-n", host, "addr", "add", "203.0.113.1/24", "dev", "up0");
  ip("-n", host, "link", "set", "up0", "up");
  ip("-n", outside, "addr", "add", "203.0.113.2/24", "dev", "eth0");
  ip("-n", outside, "link", "set", "eth0", "up");
  writeFileSync(conf, CONFIG);
  chmodSync(conf, 0o644);
  say(`kvmnet.conf (${conf})`);
  process.stdout.write(CONFIG);

  // The outside runs a TCP server that answers each client with the address it sees the client as.
  const stopEcho = await startEchoAddress(Netns.attach(outside));
  const boot = await buildGuestInitramfs(process.env.KVMNET_VM_CACHE ?? "/tmp/kvmnet-vm-cache");
  const natup = join(root, "dist/qemu-natup.cjs");
  const natdown = join(root, "dist/qemu-natdown.cjs");
  say("starting the guest (Debian's kernel + a busybox initramfs, software emulation):");
  process.stdout.write(
    `qemu-system-x86_64 -kernel ... -initrd ... \\\n  -netdev tap,id=n0,ifname=vnet0,script=${natup},downscript=${natdown} \\\n  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56\n`,
  );
  const guest = bootGuest({
    ...boot,
    tap: "vnet0",
    script: natup,
    downscript: natdown,
    netns: host,
    env: { KVMNET_CONFIG: conf },
    mac: "52:54:00:12:34:56",
    ip: "dhcp",
    hostname: "web",
    ping: ["192.0.2.1", "203.0.113.2"],
    resolve: ["web"],
    wait: 6,
    append: ["kvmnet.fetch=203.0.113.2:7777"],
  });
  await guest.waitForResult("done", 120_000).catch(() => undefined);
  say("kvmnet status (while the guest is still running)");
  process.stdout.write(inHost("node", join(root, "dist/kvmnet.cjs"), "status"));
  const r = await guest.result;
  stopEcho();
  const seen = r.results.find((x) => x.kind === "fetch")?.args[1];
  say("what the guest saw");
  const lines = [
    `lease:        ${r.lease ? `${r.lease.ip} router ${r.lease.router} dns ${r.lease.dns}` : "NONE"}`,
    `network ready ${r.networkReadyMs !== undefined ? `${(r.networkReadyMs / 1000).toFixed(1)} s after QEMU started` : "never"}`,
    ...Object.entries(r.pings).map(
      ([a, ok]) =>
        `ping ${a.padEnd(12)} ${ok ? "ok" : "FAILED"}${a === "203.0.113.2" ? "  (the outside, through NAT)" : "  (the gateway)"}`,
    ),
    ...Object.entries(r.resolved).map(([n, a]) => `resolve ${n.padEnd(9)} ${a ?? "FAILED"}  (kvmnet's dnsmasq)`),
    `the outside saw the guest as ${seen ?? "NOTHING"}  (the host's uplink address: NAT)`,
  ];
  process.stdout.write(lines.map((l) => `  ${l}\n`).join(""));
  say("after the guest powered off (qemu-natdown ran; teardown = when-idle removed the network)");
  process.stdout.write(inHost("node", join(root, "dist/kvmnet.cjs"), "status"));
  const ok =
    !!r.lease &&
    r.lease.ip?.startsWith("192.0.2.10/") &&
    Object.values(r.pings).every(Boolean) &&
    r.resolved.web === "192.0.2.10" &&
    seen === "203.0.113.1";
  say(
    ok
      ? "OK: the guest got its static lease, reached the gateway and the outside (seen as the host), and resolved its name"
      : "FAILED: see above",
  );
  return ok ? 0 : 1;
}

main()
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  )
  .finally(() => {
    stopDnsmasqIn(join(dir, "run"));
    for (const ns of [host, outside]) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });
