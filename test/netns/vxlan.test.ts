// One nat network across hosts over VXLAN with static peers: a gateway host (dnsmasq, NAT) and member hosts that
// only bridge, all reading the same kvmnet.conf ([lab@gw] makes gw the gateway). Guests on the members get their
// leases (and the VXLAN MTU) from the gateway, reach each other across hosts and the outside through the
// gateway's NAT; a host not (yet) among the peers gets nothing through; a fourth host added joins without a lost
// packet between running guests; the warm path costs no process for the VXLAN side; teardown removes the device.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { veth } from "../helpers/netns.js";
import { expectUnbroken, pingStream } from "../helpers/ping-stream.js";
import { makeVxlanLab, type Host, type VxlanLab } from "./vxlan-lab.js";

const VNI = 4242;
const DEV = `vx${VNI}`;

const body =
  (peers: string, extra = "") =>
  (br: string) =>
    `[lab]
mode = nat
bridge = ${br}
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
vxlan_id = ${VNI}
vxlan_dev = u0
vxlan_peers = ${peers}
role = member
${extra}
[lab@gw]
role = gateway
`;

const THREE = "203.0.113.1, 203.0.113.2, 203.0.113.3";
const FOUR = `${THREE}, 203.0.113.4`;

// Wrappers in PATH that log each call of the tools kvmnet may run, then run the real one.
function countingPath(dir: string, log: string): string {
  mkdirSync(dir);
  for (const real of ["/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/bridge", "/usr/bin/vtysh", "/usr/bin/flock"]) {
    const tool = real.split("/").pop()!;
    writeFileSync(`${dir}/${tool}`, `#!/bin/sh\necho "${tool} $*" >> ${log}\nexec ${real} "$@"\n`);
    chmodSync(`${dir}/${tool}`, 0o755);
  }
  return `${dir}:${process.env.PATH}`;
}

const ifindex = async (h: Host, dev: string) => await h.ns.sh(`cat /sys/class/net/${dev}/ifindex`);
const floods = async (h: Host) =>
  (await h.ns.sh(`bridge fdb show dev ${DEV} | grep '^00:00:00:00:00:00' | awk '{print $3}' | sort`))
    .split("\n")
    .filter(Boolean);

describe("nat network across hosts, VXLAN with static peers", () => {
  let lab: VxlanLab;
  afterEach(async () => await lab?.destroy());

  it("members' guests lease from the gateway, reach each other and the outside; a fourth host joins without loss", async () => {
    lab = await makeVxlanLab(body(THREE));
    const gw = await lab.addHost(1, "gw");
    const m2 = await lab.addHost(2, "m2");
    const m3 = await lab.addHost(3, "m3");
    // The outside, beyond the gateway's second NIC.
    const outside = await lab.extra("kxo");
    await veth(gw.ns, "up0", outside, "eth0");
    await gw.ns.sh("ip addr add 198.51.100.1/24 dev up0");
    await outside.sh("ip addr add 198.51.100.2/24 dev eth0");

    const up = await lab.run(gw, "kvmnet", ["up", "lab"]);
    expect(up.code, up.stderr).toBe(0);
    // The gateway: the bridge with the address, the VXLAN device under it, flood entries to the two others.
    expect(await gw.ns.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toMatch(/192\.0\.2\.1\/24/);
    const d = await gw.ns.sh(`ip -d -o link show ${DEV}`);
    expect(d).toMatch(new RegExp(`master ${lab.bridge} `));
    expect(d).toMatch(/vxlan id 4242 .*local 203\.0\.113\.1 dev u0 .*dstport 4789/);
    expect(await floods(gw)).toEqual(["203.0.113.2", "203.0.113.3"]);
    // MTU: u0's 1500 less VXLAN's 50 over IPv4, on the bridge and the VXLAN device.
    expect(await gw.ns.sh(`cat /sys/class/net/${lab.bridge}/mtu /sys/class/net/${DEV}/mtu`)).toBe("1450\n1450");
    expect(readFileSync(`${lab.conf.stateDir}/lab.dnsmasq.conf`, "utf8")).toMatch(/^dhcp-option=option:mtu,1450$/m);

    // Members: their guests' taps through qemu-natup (a member of a nat network is served by the nat hooks).
    const g2 = await lab.addGuest(m2, "vm2");
    const g3 = await lab.addGuest(m3, "vm3");
    const g3b = await lab.addGuest(m3, "vm3b");
    for (const [h, tap] of [
      [m2, "vm2"],
      [m3, "vm3"],
      [m3, "vm3b"],
    ] as const) {
      const r = await lab.run(h, "qemu-natup", [tap]);
      expect(r.code, r.stderr).toBe(0);
    }
    // A member has no address on the bridge and runs no dnsmasq; its bridge, device and taps have the MTU.
    expect(await m2.ns.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toBe("");
    expect(await m2.ns.sh(`cat /sys/class/net/vm2/mtu /sys/class/net/${DEV}/mtu`)).toBe("1450\n1450");
    expect(await floods(m2)).toEqual(["203.0.113.1", "203.0.113.3"]);

    const l2 = await lab.dhcp(g2);
    const l3 = await lab.dhcp(g3);
    const l3b = await lab.dhcp(g3b);
    expect(l2?.router).toBe("192.0.2.1");
    expect(l3?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(l3b?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    console.log(
      `MTU the guests got by DHCP (option 26): ${l2!.mtu}; eth0: ${await g2.sh("cat /sys/class/net/eth0/mtu")}`,
    );
    expect(l2!.mtu).toBe("1450");
    // The leases are the gateway's.
    const leases = readFileSync(`${lab.conf.leaseDir}/lab.leases`, "utf8");
    expect(leases).toContain(l2!.ip);
    expect(leases).toContain(l3!.ip);
    expect(await lab.ping(g2, l3!.ip)).toBe(true);
    expect(await lab.ping(g3, l2!.ip)).toBe(true);
    // The outside through the gateway's NAT (the outside has no route to 192.0.2.0/24).
    // (A member's bridge has a MAC of its own: with the gateway's, frames for the gateway would stop there.)
    expect(await lab.ping(g2, "198.51.100.2")).toBe(true);
    // Full-size frames pass (1450 inside, 1500 on the underlay): no fragmentation in the tunnel.
    expect(
      (await g2.tryRun("busybox", ["ping", "-c", "1", "-W", "2", "-s", "1422", l3!.ip], { timeout: 10_000 })).exitCode,
    ).toBe(0);

    // Throughput: across hosts (m2 to m3) against the same pair of guests on one host (m3).
    const across = await iperf(g3, g2, l3!.ip);
    const same = await iperf(g3, g3b, l3!.ip);
    console.log(
      `iperf3 guest to guest: across hosts ${(across / 1e9).toFixed(2)} Gbit/s, on one host ${(same / 1e9).toFixed(2)} Gbit/s, ratio ${(across / same).toFixed(2)}`,
    );
    expect(across).toBeGreaterThan(0);

    // The warm path: another VM on a member spawns nothing for the VXLAN side (no bridge, no nft of its guard).
    const g2b = await lab.addGuest(m2, "vm2b");
    const log = `${lab.conf.dir}/calls.log`;
    const PATH = countingPath(`${lab.conf.dir}/bin`, log);
    writeFileSync(log, "");
    const warm = await lab.run(m2, "qemu-natup", ["vm2b"], { PATH });
    expect(warm.code, warm.stderr).toBe(0);
    const calls = readFileSync(log, "utf8");
    expect(calls).not.toMatch(/^bridge /m);
    expect(calls).not.toMatch(/kvmnet-vx-/);
    const ips = calls.split("\n").filter((l) => l.startsWith("ip ") && !l.startsWith("ip netns exec"));
    expect(ips, calls).toEqual([`ip link set dev vm2b mtu 1450 master ${lab.bridge} up`]);
    expect((await lab.dhcp(g2b))?.mtu).toBe("1450");

    // A fourth host, not yet among the peers: its VXLAN packets are dropped by the others' guards (they would
    // otherwise be taken, and its guest's MAC learnt behind it).
    const m4 = await lab.addHost(4, "m4");
    const g4 = await lab.addGuest(m4, "vm4");
    await g4.sh("ip addr add 192.0.2.44/24 dev eth0");
    const r4 = await lab.run(m4, "qemu-natup", ["vm4"]);
    expect(r4.code, r4.stderr).toBe(0);
    expect(await lab.ping(g4, l2!.ip)).toBe(false);
    expect(await gw.ns.sh(`nft list table inet kvmnet-vx-lab`)).toMatch(/@th,96,24 0x1092 drop/);

    // Added to vxlan_peers everywhere, with `kvmnet up` on the three: a continuous ping between running guests
    // across hosts loses nothing, and no VXLAN device is made again.
    const before = await Promise.all([gw, m2, m3].map((h) => ifindex(h, DEV)));
    // Pings timed as they arrive: the `kvmnet up`s run asynchronously, so this process is free to.
    const ping = pingStream(g2, l3!.ip);
    await new Promise((r) => setTimeout(r, 1000));
    lab.rewrite(body(FOUR)(lab.bridge));
    const upStart = Date.now();
    for (const h of [gw, m2, m3]) {
      const r = await lab.runAsync(h, "kvmnet", ["up", "lab"]);
      expect(r.code, r.stderr).toBe(0);
    }
    const upEnd = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const replies = await ping.stop();
    console.log(
      `continuous ping while the fourth host joined: ${replies.length} replies, last seq ${replies.at(-1)?.seq}`,
    );
    expect(replies.length).toBeGreaterThan(20);
    // The change fell inside the stream, and no reply is missing.
    expectUnbroken(replies, upStart, upEnd);
    expect(await Promise.all([gw, m2, m3].map((h) => ifindex(h, DEV)))).toEqual(before);
    expect(await floods(m2)).toEqual(["203.0.113.1", "203.0.113.3", "203.0.113.4"]);
    // m4 takes the new file too (its peers were all there already: only its alias changes).
    expect((await lab.run(m4, "kvmnet", ["up", "lab"])).code).toBe(0);
    expect(await lab.ping(g4, l2!.ip)).toBe(true);
    expect((await lab.dhcp(g4))?.router).toBe("192.0.2.1");
    // status: the peers and their flood entries; the plain view draws them.
    const st = JSON.parse((await lab.run(m2, "kvmnet", ["status", "lab", "--json"])).stdout).networks[0];
    expect(st.vxlan).toMatchObject({ vni: VNI, device: DEV, underlay: "u0", local: "203.0.113.2", role: "member" });
    expect(st.vxlan.state).toBe("in-place");
    expect(st.vxlan.peers).toEqual(
      ["203.0.113.1", "203.0.113.3", "203.0.113.4"].map((address) => ({
        address,
        source: "static",
        state: "flood entry",
      })),
    );
    const view = (await lab.run(m2, "kvmnet", ["status", "lab"])).stdout;
    expect(view).toMatch(/peer +203\.0\.113\.4 +static +flood entry/);
    expect(view).toMatch(new RegExp(`${DEV} .* up  \\(vxlan\\)`));
    // doctor: the underlay's MTU fits, every peer answers on u0.
    const doc = async (h: Host) =>
      (
        JSON.parse((await lab.run(h, "kvmnet", ["doctor", "--json"])).stdout).checks as {
          id: string;
          level: string;
          message: string;
        }[]
      ).filter((c) => c.id.startsWith("vxlan"));
    const d2 = await doc(m2);
    expect(d2.filter((c) => c.id === "vxlan-mtu").map((c) => c.level)).toEqual(["ok"]);
    expect(d2.filter((c) => c.id === "vxlan-peer").map((c) => c.level)).toEqual(["ok", "ok", "ok"]);
    // Everything in place: nothing pending on any host.
    for (const h of [gw, m2, m3, m4]) {
      const p = await lab.run(h, "kvmnet", ["plan", "lab"]);
      expect(p.stdout, `${h.name}: ${p.stdout}`).toMatch(/nothing to do|up to date|no change/i);
    }
    // A smaller underlay MTU, and a peer gone from the underlay: doctor fails both, saying what to do.
    await m3.ns.sh("ip link set u0 mtu 1400");
    const d3 = await doc(m3);
    expect(d3.find((c) => c.id === "vxlan-mtu")).toMatchObject({ level: "fail" });
    expect(d3.find((c) => c.id === "vxlan-mtu")!.message).toMatch(
      /u0 MTU 1400 is less than the guests' 1450 \+ VXLAN's 50/,
    );
    await lab.underlay.sh(`ip link set ${await lab.underlay.sh("ls /sys/class/net | grep ^p4")} down`);
    await m2.ns.sh("ip neigh flush dev u0; busybox ping -c 1 -W 1 203.0.113.4 || true");
    expect((await doc(m2)).find((c) => c.message.includes("203.0.113.4"))).toMatchObject({ level: "fail" });
  }, 240_000);

  it("teardown = when-idle: the last guest leaving a member removes the VXLAN device and its guard", async () => {
    lab = await makeVxlanLab(body(THREE, "teardown = when-idle\n"));
    await lab.addHost(1, "gw");
    const m2 = await lab.addHost(2, "m2");
    await lab.addGuest(m2, "vm2");
    const r = await lab.run(m2, "qemu-natup", ["vm2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await m2.ns.sh(`ls /sys/class/net/${lab.bridge}/brif | sort`)).toBe(
      `vm2\n${DEV}`.split("\n").sort().join("\n"),
    );
    expect((await m2.ns.tryRun("nft", ["list", "table", "inet", "kvmnet-vx-lab"])).exitCode).toBe(0);
    const down = await lab.run(m2, "qemu-natdown", ["vm2"]);
    expect(down.code, down.stderr).toBe(0);
    expect((await m2.ns.tryRun("ip", ["link", "show", DEV])).exitCode).not.toBe(0);
    expect((await m2.ns.tryRun("ip", ["link", "show", lab.bridge])).exitCode).not.toBe(0);
    expect((await m2.ns.tryRun("nft", ["list", "table", "inet", "kvmnet-vx-lab"])).exitCode).not.toBe(0);
  }, 60_000);

  it("a missing underlay named in this host's section is refused at that line, and nothing is made", async () => {
    lab = await makeVxlanLab((br) => `${body(THREE)(br)}\n[lab@m2]\nvxlan_dev = nope0\n`);
    await lab.addHost(1, "gw");
    const m2 = await lab.addHost(2, "m2");
    await lab.addGuest(m2, "vm2");
    // Links without their carrier state: the guest's end of vm2 comes up on its own meanwhile.
    const state = async () => await m2.ns.sh("ip -o link | sed -E 's/<[^>]*>//; s/ state [A-Z]+//'; nft list ruleset");
    const before = await state();
    const r = await lab.run(m2, "qemu-natup", ["vm2"]);
    expect(r.code).toBe(2);
    const line = readFileSync(lab.conf.file, "utf8").split("\n").indexOf("vxlan_dev = nope0") + 1;
    expect(r.stderr).toContain(`${lab.conf.file}:${line}: vxlan_dev: no interface nope0 on this host`);
    expect(await state()).toBe(before);
  }, 60_000);
});

// Bits per second from CLIENT to SERVER's ADDRESS (iperf3, 3 s, one run).
async function iperf(
  server: Awaited<ReturnType<VxlanLab["addGuest"]>>,
  client: typeof server,
  address: string,
): Promise<number> {
  await server.sh("iperf3 -s -1 -D");
  // The server needs a moment to listen.
  for (let i = 0; i < 50; i++) {
    if ((await server.tryRun("sh", ["-c", "ss -ltn | grep -q ':5201 '"])).exitCode === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await client.run("iperf3", ["-c", address, "-t", "3", "-J"]);
  return JSON.parse(String(r.stdout)).end.sum_received.bits_per_second as number;
}
