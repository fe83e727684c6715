// kvmnet next to a real firewalld (Debian's package, nftables backend) run in the lab's host namespace with its own
// D-Bus and private /etc/firewalld and /run (test/netns/firewalld-daemon.ts). firewalld's default zone (public)
// rejects the guests' DHCP and forwarded traffic whatever kvmnet's own table accepts (control: firewalld started
// under a network kvmnet already brought up). kvmnet puts the bridge in its own zone (kvmnet, kvmnet-routed,
// kvmnet-local), permanently, so the binding survives `firewall-cmd --reload` and a restart of firewalld; `kvmnet
// down` takes it out. The admin's zone files and the host's firewalld files and ruleset are compared before and
// after. firewall-cmd runs through a logging wrapper, to show what kvmnet asked and that warm hooks ask nothing.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UPLINK, makeLab, natSection, OUTSIDE, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";
import { program, rid } from "../helpers/netns.js";
import { renderPolicies, renderZone } from "../../src/render/firewalld-zones.js";
import { firewalldSandbox, hostFirewalldState } from "./firewalld-daemon.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const LEASE = /^192\.0\.2\.1\d\d$/;

async function setup(section?: (br: string) => string) {
  const before = await hostFirewalldState();
  const lab: Lab = await makeLab(section ? { section } : {});
  const sb = firewalldSandbox(lab.host);
  cleanups.push(async () => {
    await sb.cleanup();
    await lab.destroy();
    expect(await hostFirewalldState()).toBe(before);
  });
  // firewall-cmd as kvmnet finds it in PATH: a wrapper that logs its arguments.
  const bin = join(sb.dir, "bin");
  const calls = join(sb.dir, "calls.log");
  mkdirSync(bin);
  writeFileSync(join(bin, "firewall-cmd"), `#!/bin/sh\necho "$*" >> ${calls}\nexec /usr/bin/firewall-cmd "$@"\n`);
  chmodSync(join(bin, "firewall-cmd"), 0o755);
  writeFileSync(calls, "");
  const env = { KVMNET_CONFIG: lab.conf.file, PATH: `${bin}:${process.env.PATH}` };
  const adminZones = () =>
    readdirSync(join(sb.etc, "zones"))
      .filter((f) => !f.startsWith("kvmnet"))
      .map((f) => `${f}\n${readFileSync(join(sb.etc, "zones", f), "utf8")}`);
  const admin = adminZones();
  cleanups.push(() => expect(adminZones()).toEqual(admin));
  return {
    lab,
    sb,
    async kvmnet(...args: string[]) {
      return await sb.run(process.execPath, [program("kvmnet"), ...args], env);
    },
    async hook(prog: string, tap: string) {
      return await sb.run(process.execPath, [program(prog), tap], env);
    },
    /** The firewall-cmd calls since the last call of this. */
    calls(): string[] {
      const lines = readFileSync(calls, "utf8").split("\n").filter(Boolean);
      writeFileSync(calls, "");
      return lines;
    },
    zoneFile: (zone: string) => readFileSync(join(sb.etc, "zones", `${zone}.xml`), "utf8"),
  };
}

describe("firewalld", () => {
  it("nat: firewalld cuts the guest off (control); kvmnet up puts the bridge in zone kvmnet: lease and outside reach, after --reload and a restart too; kvmnet down takes it out", async () => {
    const { lab, sb, kvmnet, hook, calls, zoneFile } = await setup();
    const br = lab.bridge;
    const g = await lab.addGuest("vm0");
    cleanups.push(await startEchoAddress(lab.outside));
    // Without firewalld: kvmnet asks it nothing and writes no zone.
    expect((await hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    expect(calls()).toEqual([]);
    expect(existsSync(join(sb.etc, "zones", "kvmnet.xml"))).toBe(false);

    // Control: firewalld starts; the bridge falls in its default zone, which rejects DHCP and forwarding.
    await sb.start();
    expect(await sb.cmd("--get-default-zone")).toBe("public");
    expect(await lab.dhcp(g)).toBeNull();
    expect(await seenAs(g, OUTSIDE)).toBe("");
    // A warm hook (network up, another VM) does not look at firewalld: no firewall-cmd.
    const g2 = await lab.addGuest("vm1");
    expect((await hook("qemu-natup", "vm1")).code).toBe(0);
    expect(calls()).toEqual([]);
    expect(await lab.dhcp(g2)).toBeNull();

    // kvmnet up: zone files written, firewalld reloaded once, the bridge bound permanently.
    const up = await kvmnet("up", "nat0", "-v");
    expect(up.code).toBe(0);
    expect(calls()).toEqual([
      "--zone=kvmnet --list-interfaces",
      "--reload",
      `--permanent --zone=kvmnet --add-interface=${br}`,
      `--zone=kvmnet --change-interface=${br}`,
    ]);
    expect(up.out).toContain("firewall-cmd --reload");
    expect(up.err).toBe("");
    expect(await sb.cmd(`--get-zone-of-interface=${br}`)).toBe("kvmnet");
    expect(await sb.cmd("--permanent", `--get-zone-of-interface=${br}`)).toBe("kvmnet");
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    expect((await lab.dhcp(g2))?.ip).toMatch(LEASE);
    // New connections from the outside into a nat network stay refused (even with a route to it).
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
    cleanups.push(await startEchoAddress(g));
    expect(await seenAs(lab.outside, (await lab.dhcp(g))!.ip)).toBe("");

    // A reload forgets runtime bindings, not this one.
    await sb.cmd("--reload");
    expect(await sb.cmd(`--get-zone-of-interface=${br}`)).toBe("kvmnet");
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    // Nor does a restart of firewalld (it removes its table on exit and rebuilds it from the files).
    await sb.stopFirewalld();
    await sb.startFirewalld();
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);

    // Up to date: a second kvmnet up only looks (one firewall-cmd), changes nothing.
    expect((await kvmnet("up", "nat0", "-v")).out).not.toContain("firewall-cmd --");
    expect(calls()).toEqual(["--zone=kvmnet --list-interfaces"]);

    // kvmnet down: the binding goes, permanently and at runtime; the zone file stays, binding nothing.
    expect((await kvmnet("down", "nat0", "--force")).code).toBe(0);
    expect(calls()).toEqual([
      "--zone=kvmnet --list-interfaces",
      `--permanent --zone=kvmnet --remove-interface=${br}`,
      `--zone=kvmnet --remove-interface=${br}`,
    ]);
    const noZone = await sb.run("firewall-cmd", [`--get-zone-of-interface=${br}`]);
    expect(`${noZone.code} ${noZone.out}${noZone.err}`.trim()).toBe("2 no zone");
    // firewalld rewrote kvmnet's zone file: byte for byte what kvmnet renders, so it still counts as current.
    expect(zoneFile("kvmnet")).toBe(renderZone("kvmnet", []));

    // A cold hook with firewalld running binds the bridge again, without a reload (the zone is known).
    expect((await hook("qemu-natup", "vm0")).code).toBe(0);
    expect(calls()).toEqual([
      "--zone=kvmnet --list-interfaces",
      `--permanent --zone=kvmnet --add-interface=${br}`,
      `--zone=kvmnet --change-interface=${br}`,
    ]);
    expect(zoneFile("kvmnet")).toBe(renderZone("kvmnet", [br]));
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
  });

  it("nat with a published port: the outside reaches the guest through it in zone kvmnet, after --reload too", async () => {
    const { lab, sb, kvmnet } = await setup((br) =>
      natSection(br, "host.web = 52:54:00:12:34:56,192.0.2.10\npublish = tcp:7777=web:7777\n"),
    );
    const g = await lab.addGuest("vm0", "52:54:00:12:34:56");
    await sb.start();
    expect(
      (await sb.run(process.execPath, [program("qemu-natup"), "vm0"], { KVMNET_CONFIG: lab.conf.file })).code,
    ).toBe(0);
    expect(await sb.cmd(`--get-zone-of-interface=${lab.bridge}`)).toBe("kvmnet");
    expect((await lab.dhcp(g))?.ip).toBe("192.0.2.10");
    cleanups.push(await startEchoAddress(g));
    expect(await seenAs(lab.outside, HOST_UPLINK)).toBe(OUTSIDE);
    await sb.cmd("--reload");
    expect(await seenAs(lab.outside, HOST_UPLINK)).toBe(OUTSIDE);
    expect((await kvmnet("up", "nat0")).code).toBe(0);
  });

  it("two nat networks coming up at once on a host where kvmnet's zone files are new: both bridges end in zone kvmnet", async () => {
    const second = `kn${rid(6)}`;
    const { lab, sb } = await setup(
      (br) =>
        `${natSection(br)}[nat1]\nmode = nat\nbridge = ${second}\naddress = 198.51.100.1/24\ndhcp_range = 198.51.100.100,198.51.100.199\n`,
    );
    await lab.addGuest("vm0");
    await lab.addGuest("vm1");
    await sb.start();
    const hook = async (tap: string, net: string) =>
      await sb.runAsync(process.execPath, [program("qemu-natup"), tap], {
        KVMNET_CONFIG: lab.conf.file,
        KVMNET_NETWORK: net,
      });
    const [a, b] = await Promise.all([await hook("vm0", "nat0"), await hook("vm1", "nat1")]);
    expect([a.code, b.code]).toEqual([0, 0]);
    for (const br of [lab.bridge, second]) {
      expect(await sb.cmd(`--get-zone-of-interface=${br}`)).toBe("kvmnet");
      expect(await sb.cmd("--permanent", `--get-zone-of-interface=${br}`)).toBe("kvmnet");
    }
    // No warning: firewalld's drop-all table during the other's reload (firewalld_policy_drop) is no foreign drop.
    expect([a.err, b.err]).toEqual(["", ""]);
  });

  it("routed: the bridge goes in zone kvmnet-routed; connections from the outside reach the guest, through a reload", async () => {
    const { lab, sb, kvmnet } = await setup(
      (br) => `[r0]\nmode = routed\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n`,
    );
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
    const g = await lab.addGuest("vm0");
    expect((await kvmnet("up", "r0")).code).toBe(0);
    expect((await sb.run(process.execPath, [program("qemu-ifup"), "vm0"], { KVMNET_CONFIG: lab.conf.file })).code).toBe(
      0,
    );
    const ip = (await lab.dhcp(g))!.ip;
    cleanups.push(await startEchoAddress(g));
    cleanups.push(await startEchoAddress(lab.outside));
    expect(await seenAs(lab.outside, ip)).toBe(OUTSIDE);
    // Control: firewalld's default zone refuses both ways.
    await sb.start();
    expect(await seenAs(lab.outside, ip)).toBe("");
    expect(await lab.dhcp(g)).toBeNull();
    expect((await kvmnet("up", "r0")).code).toBe(0);
    expect(await sb.cmd(`--get-zone-of-interface=${lab.bridge}`)).toBe("kvmnet-routed");
    expect((await lab.dhcp(g))?.ip).toBe(ip);
    expect(await seenAs(lab.outside, ip)).toBe(OUTSIDE);
    expect(await seenAs(g, OUTSIDE)).toBe(ip);
    await sb.cmd("--reload");
    expect(await seenAs(lab.outside, ip)).toBe(OUTSIDE);
    expect((await lab.dhcp(g))?.ip).toBe(ip);
    // A policy file firewalld rewrites (a no-op change) is what kvmnet renders, byte for byte.
    const policy = renderPolicies(sb.etc).find((p) => p.path.endsWith("/kvmnet-to-host.xml"))!;
    await sb.cmd("--permanent", "--policy=kvmnet-to-host", "--set-short=kvmnet-to-host");
    expect(readFileSync(policy.path, "utf8")).toBe(policy.content);
    expect(existsSync(`${policy.path}.old`)).toBe(true);
  });

  it("host-only: the bridge goes in zone kvmnet-local: DHCP and DNS to the host pass, nothing is forwarded", async () => {
    const { lab, sb, kvmnet, calls } = await setup(
      (br) =>
        `[h0]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\nhost.web = 52:54:00:12:34:56,192.0.2.10\n`,
    );
    const g = await lab.addGuest("vm0");
    await sb.start();
    expect(
      (await sb.run(process.execPath, [program("qemu-ifup-isolated"), "vm0"], { KVMNET_CONFIG: lab.conf.file })).code,
    ).toBe(0);
    expect(await sb.cmd(`--get-zone-of-interface=${lab.bridge}`)).toBe("kvmnet-local");
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    const dns = async () =>
      String((await g.tryRun("busybox", ["nslookup", "web", "192.0.2.1"], { timeout: 20_000 })).stdout).includes(
        "192.0.2.10",
      );
    expect(await dns()).toBe(true);
    await g.sh("ip route replace default via 192.0.2.1");
    cleanups.push(await startEchoAddress(lab.outside));
    expect(await seenAs(g, OUTSIDE)).toBe("");
    // Control: out of kvmnet's zone (in public), the lease is refused.
    await sb.cmd(`--zone=public`, `--change-interface=${lab.bridge}`);
    expect(await lab.dhcp(g)).toBeNull();
    expect(await dns()).toBe(false);
    // A reload restores the permanent binding.
    await sb.cmd("--reload");
    expect((await lab.dhcp(g))?.ip).toMatch(LEASE);
    expect(await dns()).toBe(true);
    expect((await kvmnet("up", "h0")).code).toBe(0);
    expect(calls()).toEqual(["--zone=kvmnet-local --list-interfaces"]);
  });

  it("isolated with br_netfilter: guests reach each other in zone kvmnet-local (its intra-zone forwarding)", async () => {
    const { lab, sb, kvmnet } = await setup((br) => `[iso]\nmode = isolated\nbridge = ${br}\n`);
    expect(await lab.host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).toBe("1");
    const g1 = await lab.addGuest("vm1");
    const g2 = await lab.addGuest("vm2");
    await g1.sh("ip addr add 192.0.2.11/24 dev eth0");
    await g2.sh("ip addr add 192.0.2.12/24 dev eth0");
    const env = { KVMNET_CONFIG: lab.conf.file };
    for (const tap of ["vm1", "vm2"])
      expect((await sb.run(process.execPath, [program("qemu-ifup-isolated"), tap], env)).code).toBe(0);
    cleanups.push(await startEchoAddress(g2));
    expect(await seenAs(g1, "192.0.2.12")).toBe("192.0.2.11");
    // Control: under firewalld, in its default zone.
    await sb.start();
    expect(await seenAs(g1, "192.0.2.12")).toBe("");
    expect((await kvmnet("up", "iso")).code).toBe(0);
    expect(await sb.cmd(`--get-zone-of-interface=${lab.bridge}`)).toBe("kvmnet-local");
    expect(await seenAs(g1, "192.0.2.12")).toBe("192.0.2.11");
    await sb.cmd("--reload");
    expect(await seenAs(g1, "192.0.2.12")).toBe("192.0.2.11");
  });
});
