// IPv6 on kvmnet's networks: SLAAC and DHCPv6 from kvmnet's dnsmasq, NAT66 and routed IPv6 to an outside at
// 2001:db8:1::/64, and forwarding turned on without costing the host its own SLAAC default route.
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { slaac, solicit6 } from "../helpers/dhcp6.js";
import { ROOT } from "../helpers/netns.js";
import { makeLab, natSection, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";

const OUT6 = "2001:db8:1::2";
const HOST6 = "2001:db8:1::1";
const NET6 = "fd00:0:0:6::/64";
const RA_RDNSS = join(ROOT, "test/helpers/ra-rdnss.py");

async function lab6(extra: string, mode = "nat"): Promise<Lab> {
  const lab = await makeLab({
    section: (br) => natSection(br, `address6 = fd00:0:0:6::1/64\n${extra}`).replace("mode = nat", `mode = ${mode}`),
  });
  await lab.host.sh(`ip addr add ${HOST6}/64 dev up0 nodad`);
  await lab.outside.sh(`ip addr add ${OUT6}/64 dev eth0 nodad`);
  return lab;
}

describe("IPv6", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("nat: a guest configures itself by RA, reaches the outside through NAT66, seen as the host", async () => {
    lab = await lab6("host.web = 52:54:00:66:66:66,192.0.2.10\n");
    const g = await lab.addGuest("vm0");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.host.sh("cat /proc/sys/net/ipv6/conf/all/forwarding")).toBe("1");
    expect(await lab.host.sh(`ip -6 -o addr show dev ${lab.bridge} scope global | awk '{print $4}'`)).toBe(
      "fd00:0:0:6::1/64",
    );
    const addr = await slaac(g, NET6);
    expect(addr, "a SLAAC address in the network's /64").not.toBeNull();
    // RDNSS: the router advertisement names kvmnet's dnsmasq (an address of the bridge) as the DNS server...
    const rdnss = await g.tryRun("python3", [RA_RDNSS, "eth0"], { timeout: 60_000 });
    expect(rdnss.exitCode, `no RA with RDNSS: ${String(rdnss.stderr)}`).toBe(0);
    const bridgeAddrs = (await lab.host.sh(`ip -6 -o addr show dev ${lab.bridge} | awk '{print $4}'`))
      .split("\n")
      .map((a) => a.split("/")[0]);
    const servers = String(rdnss.stdout).split("\n");
    expect(servers.length).toBeGreaterThan(0);
    for (const a of servers) expect(bridgeAddrs).toContain(a);
    // ...and it answers there: the network's own name, not just any reply (NXDOMAIN prints "Address" too).
    const answer = await g.sh("busybox nslookup web fd00:0:0:6::1 || true");
    expect(answer).toMatch(/Name:\s+web\S*\s+Address:\s+192\.0\.2\.10$/m);
    // The outside has no route to the network's /64: a reply comes back only through NAT66.
    expect(await lab.outside.sh("ip -6 route")).not.toMatch(/fd00/);
    expect((await g.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", OUT6], { timeout: 10_000 })).exitCode).toBe(0);
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(await seenAs(g, OUT6)).toBe(HOST6);
    } finally {
      stop();
    }
    // The IPv4 side is as before.
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    // A second VM changes nothing but its attach.
    await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm1", { KVMNET_VERBOSE: "1" })).stderr).toBe(
      `qemu-natup: ip link set dev vm1 mtu 1500 master ${lab.bridge} up`,
    );
  });

  it("the last VM leaving (teardown = when-idle) removes the IPv6 NAT map element, the chains and the table", async () => {
    lab = await lab6("teardown = when-idle\n");
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(await lab.host.sh("nft list map inet kvmnet nat6_saddr")).toContain("fd00:0:0:6::/64 : jump nat-nat0");
    const down = await lab.hook("qemu-natdown", "vm0");
    expect(down.code, down.stderr).toBe(0);
    expect(await lab.host.sh("nft list tables")).toBe("");
    expect(await lab.host.sh(`ls /sys/class/net | grep -c ${lab.bridge} || true`)).toBe("0");
  });

  it("address6 removed from the config: the next VM's hook removes the network's IPv6 rules and NAT66 element", async () => {
    lab = await lab6("");
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace(/^address6 = .*\n/m, ""));
    await lab.addGuest("vm1");
    const r = await lab.hook("qemu-natup", "vm1");
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.host.sh("nft list map inet kvmnet nat6_saddr")).not.toContain("fd00");
    expect(await lab.host.sh("nft list chain inet kvmnet to-nat0")).not.toContain("ip6");
  });

  it("control: a nat network without address6 forwards no IPv6 of its guests", async () => {
    lab = await makeLab();
    await lab.host.sh(`ip addr add ${HOST6}/64 dev up0 nodad && sysctl -qw net.ipv6.conf.all.forwarding=1`);
    await lab.outside.sh(`ip addr add ${OUT6}/64 dev eth0 nodad`);
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    // Even with a hand-made address and route, the guest's IPv6 is rejected by the network's forward rules.
    await lab.host.sh(`ip addr add fd00:0:0:9::1/64 dev ${lab.bridge} nodad`);
    await g.sh("ip addr add fd00:0:0:9::2/64 dev eth0 nodad && ip -6 route add default via fd00:0:0:9::1");
    await lab.outside.sh("ip -6 route add fd00:0:0:9::/64 via " + HOST6);
    expect((await g.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", OUT6], { timeout: 10_000 })).exitCode).not.toBe(
      0,
    );
    // ...and those rules are what stops it.
    await lab.host.sh("nft delete table inet kvmnet");
    expect((await g.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", OUT6], { timeout: 10_000 })).exitCode).toBe(0);
  });

  it("routed: the guest's own IPv6 address reaches the outside and is reached from it", async () => {
    lab = await lab6("", "routed");
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-ifup", "vm0")).code).toBe(0);
    const addr = await slaac(g, NET6);
    expect(addr).not.toBeNull();
    await lab.outside.sh(`ip -6 route add fd00:0:0:6::/64 via ${HOST6}`);
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(await seenAs(g, OUT6)).toBe(addr);
    } finally {
      stop();
    }
    expect(
      (await lab.outside.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", addr!], { timeout: 10_000 })).exitCode,
    ).toBe(0);
  });

  it("dhcp6_range: stateful DHCPv6 offers an address of the pool", async () => {
    lab = await lab6("dhcp6_range = fd00:0:0:6::100,fd00:0:0:6::1ff\n");
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    await slaac(g, NET6);
    const offered = await solicit6(g);
    expect(offered).toMatch(/^fd00:0:0:6::1[0-9a-f]{2}$/);
  });

  it("host-only: the prefix is advertised but no default route", async () => {
    lab = await lab6("", "host-only");
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-ifup-isolated", "vm0")).code).toBe(0);
    expect(await lab.host.sh("cat /proc/sys/net/ipv6/conf/all/forwarding")).toBe("0");
    expect(await slaac(g, NET6, false)).not.toBeNull();
    expect(await g.sh("ip -6 route show default")).toBe("");
    expect(
      (await g.tryRun("busybox", ["ping6", "-c", "1", "-W", "2", "fd00:0:0:6::1"], { timeout: 10_000 })).exitCode,
    ).toBe(0);
  });

  // The host's uplink learns its default route from an outside router's RAs (20 s router lifetime, sent every
  // 3 s). Turning forwarding on makes an interface with accept_ra = 1 ignore RAs: the route then expires.
  it.each([
    ["kvmnet sets accept_ra = 2 first: the host keeps its SLAAC default route", true],
    ["control: forwarding turned on by hand, accept_ra left at 1: the route expires", false],
  ])(
    "%s",
    async (_name, viaKvmnet) => {
      lab = await lab6("");
      const o = lab.outside;
      const router = o.spawn("dnsmasq", [
        "--keep-in-foreground",
        "--no-resolv",
        "--port=0",
        "--pid-file=",
        "--interface=eth0",
        "--bind-interfaces",
        "--enable-ra",
        "--dhcp-range=2001:db8:1::,ra-only,64",
        "--ra-param=eth0,3,20",
      ]);
      try {
        const until = Date.now() + 15_000;
        while (!/default/.test(await lab.host.sh("ip -6 route show default")) && Date.now() < until)
          await new Promise((r) => setTimeout(r, 200));
        expect(await lab.host.sh("ip -6 route show default")).toMatch(/default via fe80::\S+ dev up0 proto ra/);
        if (viaKvmnet) {
          await lab.addGuest("vm0");
          expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
          expect(await lab.host.sh("cat /proc/sys/net/ipv6/conf/up0/accept_ra")).toBe("2");
        } else {
          await lab.host.sh("sysctl -qw net.ipv6.conf.all.forwarding=1");
        }
        expect(await lab.host.sh("cat /proc/sys/net/ipv6/conf/all/forwarding")).toBe("1");
        await new Promise((r) => setTimeout(r, 24_000));
        const route = await lab.host.sh("ip -6 route show default");
        if (viaKvmnet) expect(route).toMatch(/default via fe80::\S+ dev up0 proto ra/);
        else expect(route).toBe("");
      } finally {
        router.kill("SIGTERM");
      }
    },
    60_000,
  );
});
