// One nat network across hosts with BGP EVPN through FRR (Debian's frr): zebra and bgpd in each host namespace,
// with their own config file, pid files and vty sockets in a temp dir (never /etc/frr or /run/frr). The admin's
// BGP config is the test's: the gateway is a route reflector listening on the underlay, members peer with it. No
// VXLAN peer list anywhere: kvmnet adds advertise-all-vni through vtysh, and the flood entries and the guests'
// MACs on the other hosts come from BGP.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { chownSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { makeVxlanLab, type Host, type VxlanLab } from "./vxlan-lab.js";

const VNI = 4343;
const DEV = `vx${VNI}`;

const body = (br: string) => `[lab]
mode = nat
bridge = ${br}
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
vxlan_id = ${VNI}
vxlan_dev = u0
evpn = yes
evpn_asn = 65000
role = member

[lab@gw]
role = gateway
`;

// The admin's FRR config: BGP sessions only (kvmnet adds the EVPN part).
const frrConf = (h: Host, reflector: boolean) => `frr defaults datacenter
hostname ${h.name}
router bgp 65000
 bgp router-id ${h.addr}
 no bgp default ipv4-unicast
${
  reflector
    ? ` neighbor vteps peer-group
 neighbor vteps remote-as 65000
 bgp listen range 203.0.113.0/24 peer-group vteps
 address-family l2vpn evpn
  neighbor vteps activate
  neighbor vteps route-reflector-client
 exit-address-family`
    : ` neighbor 203.0.113.1 remote-as 65000
 neighbor 203.0.113.1 timers connect 1
 address-family l2vpn evpn
  neighbor 203.0.113.1 activate
 exit-address-family`
}
`;

/** FRR of host H: zebra and bgpd in its namespace (children of the test, stopped by pid), and a PATH whose vtysh
 *  talks to them. */
async function startFrr(h: Host, dir: string, reflector: boolean) {
  mkdirSync(dir, { mode: 0o755 });
  const conf = join(dir, "frr.conf");
  writeFileSync(conf, frrConf(h, reflector));
  const uid = Number((await execa("id", ["-u", "frr"])).stdout);
  const gid = Number((await execa("id", ["-g", "frr"])).stdout);
  chownSync(dir, uid, gid);
  chownSync(conf, uid, gid);
  const common = ["-f", conf, "-z", join(dir, "zserv.api"), "--vty_socket", dir, "-P", "0"];
  const zebra = h.ns.spawn("/usr/lib/frr/zebra", [...common, "-i", join(dir, "zebra.pid")]);
  // bgpd connects to zebra's socket: give it a moment to be there.
  for (let i = 0; i < 50 && (await h.ns.tryRun("test", ["-S", join(dir, "zserv.api")])).exitCode !== 0; i++)
    await sleep(100);
  const bgpd = h.ns.spawn("/usr/lib/frr/bgpd", [...common, "-i", join(dir, "bgpd.pid")]);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "vtysh"), `#!/bin/sh\nexec /usr/bin/vtysh --vty_socket ${dir} "$@"\n`);
  chmodSync(join(bin, "vtysh"), 0o755);
  return {
    PATH: `${bin}:${process.env.PATH}`,
    vtysh: async (cmd: string) => String((await h.ns.tryRun("vtysh", ["--vty_socket", dir, "-c", cmd])).stdout),
    stop: () => {
      for (const p of [bgpd, zebra]) p.kill("SIGTERM");
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll F until it returns true (every 250 ms, up to SECONDS). */
async function until(f: () => boolean | Promise<boolean>, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 4; i++) {
    if (await f()) return true;
    await sleep(250);
  }
  return await f();
}

const fdb = async (h: Host) => await h.ns.sh(`bridge fdb show dev ${DEV}`);

describe("nat network across hosts, BGP EVPN through FRR", () => {
  let lab: VxlanLab;
  let dir: string;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    while (stops.length) stops.pop()!();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("kvmnet adds advertise-all-vni; flood entries and guests' MACs come from BGP; leases from the gateway", async () => {
    lab = await makeVxlanLab(body);
    dir = mkdtempSync(join(tmpdir(), "kvmnet-frr-"));
    chmodSync(dir, 0o755);
    const gw = await lab.addHost(1, "gw");
    const m2 = await lab.addHost(2, "m2");
    const m3 = await lab.addHost(3, "m3");
    const frr = new Map<Host, Awaited<ReturnType<typeof startFrr>>>();
    for (const h of [gw, m2, m3]) {
      const f = await startFrr(h, join(dir, h.name), h === gw);
      stops.push(f.stop);
      frr.set(h, f);
    }
    const up = await lab.run(gw, "kvmnet", ["up", "lab"], { PATH: frr.get(gw)!.PATH });
    expect(up.code, up.stderr).toBe(0);
    expect(await frr.get(gw)!.vtysh("show running-config")).toMatch(
      /address-family l2vpn evpn\n(.*\n)*?\s+advertise-all-vni/,
    );
    // FRR's requirement: no learning on the VXLAN device nor its bridge port; kvmnet put no flood entry.
    expect(await gw.ns.sh(`ip -d -o link show ${DEV}`)).toMatch(
      /vxlan id 4343 local 203\.0\.113\.1 dev u0 .*nolearning/,
    );
    expect(await gw.ns.sh(`ip -d -o link show ${DEV}`)).toMatch(/ learning off /);

    const g2 = await lab.addGuest(m2, "vm2");
    const g3 = await lab.addGuest(m3, "vm3");
    for (const [h, tap] of [
      [m2, "vm2"],
      [m3, "vm3"],
    ] as const) {
      const r = await lab.run(h, "qemu-natup", [tap], { PATH: frr.get(h)!.PATH });
      expect(r.code, r.stderr).toBe(0);
    }
    // Then nothing is left to do (FRR's running config has the fragment: no vtysh step again).
    for (const h of [gw, m2, m3]) {
      const plan = await lab.run(h, "kvmnet", ["plan", "lab"], { PATH: frr.get(h)!.PATH });
      expect(plan.stdout, plan.stdout).toMatch(/nothing to do/);
    }

    // The sessions come up, and each VTEP's IMET route becomes a flood entry on the others.
    const bgpUp = await until(
      async () => /Established|\d+\s+\d+\s+N\/A/.test(await frr.get(m2)!.vtysh("show bgp l2vpn evpn summary")),
      30,
    );
    expect(bgpUp, await frr.get(m2)!.vtysh("show bgp l2vpn evpn summary")).toBe(true);
    expect(
      await until(async () => /00:00:00:00:00:00 dst 203\.0\.113\.1 /.test(await fdb(m2)), 30),
      await fdb(m2),
    ).toBe(true);
    expect(
      await until(async () => /00:00:00:00:00:00 dst 203\.0\.113\.3 /.test(await fdb(m2)), 30),
      await fdb(m2),
    ).toBe(true);

    const l2 = await lab.dhcp(g2);
    const l3 = await lab.dhcp(g3);
    expect(l2?.router).toBe("192.0.2.1");
    expect(l3?.mtu).toBe("1450");
    expect(await lab.ping(g2, l3!.ip)).toBe(true);
    expect(await lab.ping(g3, "192.0.2.1")).toBe(true);

    // g2's MAC, learnt on m2's tap, reaches m3 by BGP: an extern_learn entry towards m2, and in FRR's EVPN table.
    const mac = await g2.sh("cat /sys/class/net/eth0/address");
    expect(
      await until(async () => new RegExp(`^${mac} dst 203\\.0\\.113\\.2 .*extern_learn`, "m").test(await fdb(m3)), 30),
      await fdb(m3),
    ).toBe(true);
    const macs = await frr.get(m3)!.vtysh(`show evpn mac vni ${VNI}`);
    console.log(`m3: show evpn mac vni ${VNI}\n${macs}`);
    expect(macs).toMatch(new RegExp(`${mac}\\s+remote\\s+203\\.0\\.113\\.2`));

    // status: the BGP session with its state, and the VTEPs BGP taught; doctor: FRR has kvmnet's lines, sessions up.
    const st = JSON.parse(
      (await lab.run(m3, "kvmnet", ["status", "lab", "--json"], { PATH: frr.get(m3)!.PATH })).stdout,
    ).networks[0].vxlan;
    expect(st).toMatchObject({ evpn: true, state: "in-place", local: "203.0.113.3" });
    expect(st.peers).toContainEqual({ address: "203.0.113.1", source: "bgp", state: "Established" });
    expect(st.peers).toContainEqual({ address: "203.0.113.2", source: "vtep", state: "flood entry" });
    const doctor = async (h: Host) =>
      (
        JSON.parse((await lab.run(h, "kvmnet", ["doctor", "--json"], { PATH: frr.get(h)!.PATH })).stdout).checks as {
          id: string;
          level: string;
          message: string;
        }[]
      ).filter((c) => c.id === "vxlan-evpn");
    expect(await doctor(m3)).toEqual([expect.objectContaining({ level: "ok" })]);
    // The gateway's FRR stops: the members' doctor fails its session.
    frr.get(gw)!.stop();
    expect(await until(async () => (await doctor(m3))[0]?.level === "fail", 15), JSON.stringify(await doctor(m3))).toBe(
      true,
    );
  }, 180_000);
});
