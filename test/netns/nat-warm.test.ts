// The warm path (network up, a new tap) spawns as few processes as correctness allows: one listing of kvmnet's
// rules, one `ip link set` (the lock takes no process: src/host/lock.ts). Counted for real: each tool in PATH is
// a wrapper that logs its call and runs the real one.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { qemuLikeTap } from "../helpers/tap.js";

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

/** The one listing of kvmnet's rules, under the network's lock (and, with iptables, the host-wide one: its jumps
 *  live in built-in chains every network shares); the locks themselves spawn nothing. */
function locked(firewall: "nftables" | "iptables"): string {
  // nftables: just the network's "from" chain and the map that leads to it, in kvmnet's one table.
  return firewall === "nftables"
    ? `nft list chain inet kvmnet from-nat0 ; list map inet kvmnet fwd_iif`
    : `iptables-save `;
}

describe.each(["nftables", "iptables"] as const)("warm path with %s", (firewall) => {
  let lab: Lab;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    while (closers.length) closers.pop()!();
    await lab?.destroy();
  });

  it("a second VM's natup (a tap as QEMU makes it) spawns one listing and one ip (the lock no process); a repeated natup no ip", async () => {
    lab = await makeLab({ firewall });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    const r = await lab.hook("qemu-natup", "vm1", { PATH });
    expect(r.code, r.stderr).toBe(0);
    expect(calls(log)).toBe(`${locked(firewall)}\nip link set dev vm1 mtu 1500 master ${lab.bridge} up`);
    writeFileSync(log, "");
    expect((await lab.hook("qemu-natup", "vm1", { PATH })).code).toBe(0);
    expect(calls(log)).toBe(locked(firewall));
  });

  it("a VM's natdown that leaves another VM on the network spawns one ip and no listing; the last one (when-idle) looks and takes it down", async () => {
    lab = await makeLab({ firewall, section: (bridge) => natSection(bridge, "teardown = when-idle\n") });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    for (const tap of ["vm0", "vm1"]) expect((await lab.hook("qemu-natup", tap)).code).toBe(0);
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    const r = await lab.hook("qemu-natdown", "vm1", { PATH });
    expect(r.code, r.stderr).toBe(0);
    expect(calls(log)).toBe("ip link set dev vm1 nomaster");
    expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("vm0");
    // The last VM: its rules are looked at, and removed with the network.
    writeFileSync(log, "");
    const last = await lab.hook("qemu-natdown", "vm0", { PATH });
    expect(last.code, last.stderr).toBe(0);
    expect(calls(log).split("\n")).toContain(locked(firewall));
    expect((await lab.host.tryRun("ip", ["link", "show", lab.bridge])).exitCode).not.toBe(0);
    const rules = firewall === "nftables" ? "nft list tables" : "iptables-save";
    expect(await lab.host.sh(rules)).not.toMatch(/kvmnet|KVMNET/);
  });

  // The wrappers above see only the tools they wrap: strace sees every program the hook executes, whatever
  // its name or path (tc, sysctl, bridge, conntrack, modprobe... included).
  it("strace counts every program a warm natup executes: two, the ones above", async () => {
    lab = await makeLab({ firewall });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
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
    expect(spawned).toEqual(firewall === "nftables" ? ["nft", "ip"] : ["iptables-save", "ip"]);
  });

  it("spawns each tool by its absolute path: no execve tried and failed along PATH", async () => {
    lab = await makeLab({ firewall });
    closers.push(await qemuLikeTap(lab.host, "vm0"), await qemuLikeTap(lab.host, "vm1"));
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const trace = `${lab.conf.dir}/trace`;
    // A root PATH as sudo or a login shell gives it: the tools are in its 3rd and 4th directories.
    const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const r = await lab.host.tryRun(
      "strace",
      ["-f", "-qq", "-e", "trace=execve", "-o", trace, program("qemu-natup"), "vm1"],
      {
        env: { KVMNET_CONFIG: lab.conf.file, PATH },
      },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    // The hook's children only (the first pid is the hook itself: env's own search for node is not kvmnet's).
    const lines = readFileSync(trace, "utf8")
      .split("\n")
      .filter((l) => l.includes("execve("));
    const execs = lines.filter((l) => l.split(" ")[0] !== lines[0]!.split(" ")[0]);
    const look =
      firewall === "nftables" ? `execve("/usr/sbin/nft", ["nft", "list"` : `execve("/usr/sbin/iptables-save"`;
    expect(
      execs.filter((l) => l.includes(look)),
      execs.join("\n"),
    ).toHaveLength(1);
    expect(execs.filter((l) => l.includes(`execve("/usr/sbin/ip", ["ip", "link", "set"`))).toHaveLength(1);
    expect(execs.filter((l) => / = -1 /.test(l))).toEqual([]);
    expect(execs).toHaveLength(2);
  });

  it("a persistent tap (ip tuntap add) that is down may hold an address: one `ip` more looks", async () => {
    lab = await makeLab({ firewall });
    await lab.host.sh("ip tuntap add vm0 mode tap && ip tuntap add vm1 mode tap");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    expect((await lab.hook("qemu-natup", "vm1", { PATH })).code).toBe(0);
    expect(calls(log)).toBe(
      `ip -d -j address show dev vm1\n${locked(firewall)}\nip link set dev vm1 mtu 1500 master ${lab.bridge} up`,
    );
  });
});
