// The warm path (network up, a new tap) spawns as few processes as correctness allows: the lock, one listing
// of kvmnet's rules, one `ip link set`. Counted for real:
// each tool in PATH is a wrapper that logs its call and runs the real one.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "../helpers/lab.js";
import { qemuLikeTap } from "../helpers/tap.js";
import { program } from "../helpers/netns.js";

/** The logged calls, less the test's own `ip netns exec` that starts the hook. */
const calls = (log: string) =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("ip netns exec"))
    .join("\n");

function countingPath(dir: string, log: string): string {
  mkdirSync(dir);
  for (const real of [
    "/usr/sbin/ip",
    "/usr/sbin/nft",
    "/usr/sbin/iptables-save",
    "/usr/sbin/iptables-restore",
    "/usr/sbin/dnsmasq",
    "/usr/bin/ss",
    "/usr/bin/flock",
  ]) {
    const tool = real.split("/").pop()!;
    writeFileSync(`${dir}/${tool}`, `#!/bin/sh\necho "${tool} $*" >> ${log}\nexec ${real} "$@"\n`);
    chmodSync(`${dir}/${tool}`, 0o755);
  }
  return `${dir}:${process.env.PATH}`;
}

/** The network's lock (flock on an fd of the hook's), then the one listing of kvmnet's rules. The iptables
 *  backend takes the host-wide lock too: its jumps live in built-in chains every network shares. */
function locked(firewall: "nftables" | "iptables"): string {
  const flock = "flock -x -w 60 -E 75 3";
  // nftables: just the network's "from" chain and the map that leads to it, in kvmnet's one table.
  return firewall === "nftables"
    ? `${flock}\nnft list chain inet kvmnet from-nat0 ; list map inet kvmnet fwd_iif`
    : `${flock}\n${flock}\niptables-save `;
}

describe.each(["nftables", "iptables"] as const)("warm path with %s", (firewall) => {
  let lab: Lab;
  const closers: (() => void)[] = [];
  afterEach(() => {
    while (closers.length) closers.pop()!();
    lab?.destroy();
  });

  it("a second VM's natup (a tap as QEMU makes it) spawns the lock, one listing and one ip; a repeated natup no ip", async () => {
    lab = makeLab({ firewall });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    const r = lab.hook("qemu-natup", "vm1", { PATH });
    expect(r.code, r.stderr).toBe(0);
    expect(calls(log)).toBe(`${locked(firewall)}\nip link set dev vm1 mtu 1500 master ${lab.bridge} up`);
    writeFileSync(log, "");
    expect(lab.hook("qemu-natup", "vm1", { PATH }).code).toBe(0);
    expect(calls(log)).toBe(locked(firewall));
  });

  // The wrappers above see only the tools they wrap: strace sees every program the hook executes, whatever
  // its name or path (tc, sysctl, bridge, conntrack, modprobe... included).
  it("strace counts every program a warm natup executes: three (four with iptables), the ones above", async () => {
    lab = makeLab({ firewall });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    const log = `${lab.conf.dir}/execve.log`;
    const r = await lab.host.tryRun(
      "strace",
      ["-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", log, program("qemu-natup"), "vm1"],
      {
        env: { KVMNET_CONFIG: lab.conf.file },
        timeout: 60_000,
      },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    // Each successful execve's program, less the hook's own start (its script, then node from the #! line).
    const execs = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => / = 0$/.test(l))
      .map((l) => /execve\("([^"]+)"/.exec(l)![1]!.split("/").pop()!);
    expect(execs.slice(0, 2)).toEqual(["qemu-natup.cjs", "node"]);
    const spawned = execs.slice(2);
    expect(spawned).toEqual(
      firewall === "nftables" ? ["flock", "nft", "ip"] : ["flock", "flock", "iptables-save", "ip"],
    );
  });

  it("a persistent tap (ip tuntap add) that is down may hold an address: one `ip` more looks", () => {
    lab = makeLab({ firewall });
    lab.host.sh("ip tuntap add vm0 mode tap && ip tuntap add vm1 mode tap");
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    expect(lab.hook("qemu-natup", "vm1", { PATH }).code).toBe(0);
    expect(calls(log)).toBe(
      `ip -d -j address show dev vm1\n${locked(firewall)}\nip link set dev vm1 mtu 1500 master ${lab.bridge} up`,
    );
  });
});
