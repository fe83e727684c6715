// qemu-natup / qemu-natdown in real namespaces, with both firewall backends.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, HOST_UPLINK, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";

/** Everything kvmnet may change in the host namespace, as text. */
export async function hostState(lab: Lab): Promise<string> {
  const h = lab.host;
  return [
    await h.sh("ip -d link show | sed -E 's/_timer +[0-9.]+//g'"),
    await h.sh("ip -4 addr show"),
    await h.sh("ip route show"),
    await h.sh("cat /proc/sys/net/ipv4/ip_forward"),
    // Packet counters (iptables-nft puts one on every rule) move with any stray packet: not kvmnet's doing.
    await h.sh("nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'"),
    await h.sh("iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[]/' || true"),
    await h.sh(`ls -la --time-style=+ ${lab.conf.stateDir} 2>/dev/null || true`),
  ].join("\n----\n");
}

describe.each(["nftables", "iptables"] as const)("NAT with %s", (firewall) => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("natup twice changes nothing the second time", async () => {
    lab = await makeLab({ firewall });
    await lab.addGuest("vm0");
    const first = await lab.hook("qemu-natup", "vm0", { KVMNET_VERBOSE: "1" });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/link add name/);
    const before = await hostState(lab);
    const second = await lab.hook("qemu-natup", "vm0", { KVMNET_VERBOSE: "1" });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe("");
    expect(await hostState(lab)).toBe(before);
  });

  it("a guest gets a lease, reaches the outside through NAT, and the outside sees only the host", async () => {
    lab = await makeLab({ firewall, section: (br) => natSection(br, "host.web = 52:54:00:88:88:88,192.0.2.10\n") });
    const g = await lab.addGuest("vm0");
    const web = await lab.addGuest("vm1", "52:54:00:88:88:88");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(lease?.router).toBe("192.0.2.1");
    expect(lease?.dns).toBe("192.0.2.1");
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    // The outside has no route back to 192.0.2.0/24: a reply arrives only through NAT.
    expect(await lab.outside.sh("ip route")).not.toMatch(/192\.0\.2/);
    expect(await lab.ping(g, OUTSIDE)).toBe(true);
    expect(await lab.ping(g, "192.0.2.10")).toBe(true);
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    } finally {
      stop();
    }
    // kvmnet's DNS knows the static host by name.
    expect(await g.sh("busybox nslookup web 192.0.2.1")).toMatch(/192\.0\.2\.10/);
  });

  it("one VM's natdown leaves the others working; the last one tears down with teardown = when-idle", async () => {
    lab = await makeLab({ firewall, section: (br) => natSection(br, "teardown = when-idle\n") });
    const g0 = await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
    expect(await lab.dhcp(g0)).not.toBeNull();
    expect(await lab.dhcp(g1)).not.toBeNull();
    expect((await lab.hook("qemu-natdown", "vm0")).code).toBe(0);
    expect(await lab.ping(g1, OUTSIDE)).toBe(true);
    expect(await lab.ping(g0, OUTSIDE)).toBe(false);
    expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("vm1");
    expect((await lab.hook("qemu-natdown", "vm1")).code).toBe(0);
    expect(await lab.host.sh(`ls /sys/class/net | grep -c ${lab.bridge} || true`)).toBe("0");
    // Each backend on its own: no kvmnet table left in nft, no KVMNET chain or rule left in iptables.
    expect(await lab.host.sh("nft list tables")).not.toMatch(/kvmnet/);
    expect(await lab.host.sh("iptables-save | grep -c KVMNET || true")).toBe("0");
    expect(await lab.host.sh(`ls ${lab.conf.stateDir}`)).toBe("");
    expect(await lab.host.sh(`ls ${lab.conf.leaseDir}`)).toBe("nat0.leases");
    // natdown again, with everything already gone, still succeeds.
    expect((await lab.hook("qemu-natdown", "vm1")).code).toBe(0);
  });

  it("foreign nft tables, iptables rules, bridges and dnsmasq are byte-identical afterwards", async () => {
    lab = await makeLab({ firewall, section: (br) => natSection(br, "teardown = when-idle\n") });
    await lab.addGuest("vm0");
    const h = lab.host;
    await h.run("nft", ["-f", "-"], {
      input:
        "table inet foreign {\n chain fw { type filter hook forward priority 10; policy accept; ip saddr 198.51.100.9 drop; }\n}\ntable ip foreign_nat {\n chain postrouting { type nat hook postrouting priority 100; ip saddr 198.51.100.0/24 masquerade; }\n}\n",
    });
    await h.sh("iptables -A INPUT -s 198.51.100.7 -j DROP && iptables -A FORWARD -s 198.51.100.8 -j REJECT");
    await h.sh("ip link add fbr0 type bridge && ip link set fbr0 up && ip addr add 198.51.100.1/24 dev fbr0");
    // A foreign dnsmasq (the seed's `ps | grep dnsmasq` would take it for its own and start none).
    const pidFile = `${lab.conf.dir}/foreign.pid`;
    await h.sh(
      `dnsmasq --conf-file=/dev/null --pid-file=${pidFile} --interface=fbr0 --bind-interfaces --except-interface=lo --port=0 --dhcp-range=198.51.100.10,198.51.100.20`,
    );
    const foreignPid = Number(await h.sh(`cat ${pidFile}`));
    const foreign = async () =>
      [
        await h.sh("nft list table inet foreign"),
        await h.sh("nft list table ip foreign_nat"),
        await h.sh("iptables-save | grep -E '^-A' | grep -v KVMNET || true"),
        await h.sh("ip -d link show fbr0 | sed -E 's/_timer +[0-9.]+//g'"),
      ].join("\n");
    const before = await foreign();
    const whole = await h.sh("nft list ruleset");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(await foreign()).toBe(before);
    expect(await h.sh(`cat ${lab.conf.stateDir}/nat0.dnsmasq.pid`)).not.toBe(String(foreignPid));
    expect((await lab.hook("qemu-natdown", "vm0")).code).toBe(0);
    expect(await foreign()).toBe(before);
    try {
      expect(await h.sh(`cat /proc/${foreignPid}/cmdline | tr '\\0' ' '`)).toMatch(/dnsmasq --conf-file=\/dev\/null/);
    } finally {
      process.kill(foreignPid, "SIGTERM");
    }
    // iptables-nft leaves the built-in chains of a table it had to create (here `nat`, empty): only the
    // nftables backend gives back the exact ruleset.
    if (firewall === "nftables") expect(await h.sh("nft list ruleset")).toBe(whole);
    else expect(await h.sh("iptables-save | grep -c KVMNET || true")).toBe("0");
  });
});
