// port_isolation = yes: the bridge port flag `isolated` on each tap. Two guests of one nat network reach the
// gateway and the outside but not each other; the control, the same network without the key, lets them. A tap of
// its own (tap.NAME.port_isolation = no) is reachable by the isolated ones, and `kvmnet up` after the key changes
// re-flags the running taps (the guests are not restarted).
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program, type Netns } from "../helpers/netns.js";

const flag = async (lab: Lab, tap: string) => await lab.host.sh(`cat /sys/class/net/${tap}/brport/isolated`);

// True when G gets any reply from ADDRESS to 3 pings (after a change, its ARP entry may first have to recover
// from the failed resolution made while it was isolated).
async function reaches(g: Netns, address: string): Promise<boolean> {
  const r = await g.tryRun("busybox", ["ping", "-c", "3", "-W", "2", address], { timeout: 15_000 });
  return r.exitCode === 0;
}

async function up(lab: Lab) {
  const r = await lab.host.tryRun(program("kvmnet"), ["up", "nat0", "--verbose"], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return `${String(r.stdout)}${String(r.stderr)}`;
}

describe.each([
  ["port_isolation = yes", true],
  ["control, without it", false],
])("%s", (_name, isolated) => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.destroy();
  });

  it("guests reach the gateway and the outside; each other only without it", async () => {
    lab = await makeLab({ section: (br) => natSection(br, isolated ? "port_isolation = yes\n" : "") });
    const guests: Netns[] = [];
    const ips: string[] = [];
    for (const tap of ["vm0", "vm1"]) {
      const g = await lab.addGuest(tap);
      const r = await lab.hook("qemu-natup", tap);
      expect(r.code, r.stderr).toBe(0);
      const lease = await lab.dhcp(g);
      expect(lease).not.toBeNull();
      guests.push(g);
      ips.push(lease!.ip);
      expect(await flag(lab, tap)).toBe(isolated ? "1" : "0");
    }
    const [g0, g1] = guests as [Netns, Netns];
    expect(await lab.ping(g0, "192.0.2.1")).toBe(true);
    expect(await lab.ping(g0, OUTSIDE)).toBe(true);
    expect(await lab.ping(g1, OUTSIDE)).toBe(true);
    expect(await lab.ping(g0, ips[1]!)).toBe(!isolated);
    expect(await lab.ping(g1, ips[0]!)).toBe(!isolated);
    // A second run of the hook changes nothing.
    expect((await lab.hook("qemu-natup", "vm0")).stdout).toBe("");
  }, 120_000);
});

describe("port isolation changed on a running network", () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.destroy();
  });

  it("tap.NAME.port_isolation = no is reachable; kvmnet up re-flags running taps both ways", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "port_isolation = yes\ntap.vm1.port_isolation = no\n") });
    const g0 = await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    const g2 = await lab.addGuest("vm2");
    for (const tap of ["vm0", "vm1", "vm2"]) expect((await lab.hook("qemu-natup", tap)).code).toBe(0);
    const [, ip1, ip2] = [(await lab.dhcp(g0))!.ip, (await lab.dhcp(g1))!.ip, (await lab.dhcp(g2))!.ip];
    expect(await flag(lab, "vm1")).toBe("0");
    expect(await lab.ping(g0, ip1)).toBe(true);
    expect(await lab.ping(g2, ip1)).toBe(true);
    expect(await lab.ping(g0, ip2)).toBe(false);
    // The key removed: kvmnet up lifts the flag of the running taps; the guests keep their addresses.
    const conf = lab.conf.file;
    const text = (body: string) =>
      `[global]\nstate_dir = ${lab.conf.stateDir}\nlease_dir = ${lab.conf.leaseDir}\n${body}`;
    writeFileSync(conf, text(natSection(lab.bridge)));
    expect(await up(lab)).toContain("isolated off");
    expect(await flag(lab, "vm0")).toBe("0");
    expect(await flag(lab, "vm2")).toBe("0");
    expect(await reaches(g0, ip2)).toBe(true);
    expect(await up(lab)).toContain("already up as configured");
    // And back on.
    writeFileSync(conf, text(natSection(lab.bridge, "port_isolation = yes\n")));
    expect(await up(lab)).toContain("isolated on");
    expect(await reaches(g0, ip2)).toBe(false);
    expect(await reaches(g0, ip1)).toBe(false);
    expect(await reaches(g0, "192.0.2.1")).toBe(true);
  }, 180_000);
});

describe("port_isolation on an isolated network", () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.destroy();
  });

  it("guests reach only the shared VM (tap.NAME.port_isolation = no), not each other", async () => {
    const section = (br: string) =>
      `[iso]\nmode = isolated\nbridge = ${br}\nport_isolation = yes\ntap.vm2.port_isolation = no\n`;
    lab = await makeLab({ section });
    const gs: Netns[] = [];
    for (const [i, tap] of ["vm0", "vm1", "vm2"].entries()) {
      const g = await lab.addGuest(tap);
      await g.sh(`ip addr add 198.51.100.${10 + i}/24 dev eth0`);
      const r = await lab.hook("qemu-ifup-isolated", tap);
      expect(r.code, r.stderr).toBe(0);
      gs.push(g);
    }
    const [g0, g1, g2] = gs as [Netns, Netns, Netns];
    expect(await lab.ping(g0, "198.51.100.12")).toBe(true);
    expect(await lab.ping(g1, "198.51.100.12")).toBe(true);
    expect(await lab.ping(g2, "198.51.100.10")).toBe(true);
    expect(await lab.ping(g0, "198.51.100.11")).toBe(false);
    expect(await lab.ping(g1, "198.51.100.10")).toBe(false);
  }, 120_000);
});
