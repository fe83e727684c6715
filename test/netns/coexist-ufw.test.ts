// kvmnet next to the real ufw (Debian's package), enabled in a test namespace only (test/helpers/ufw.ts): its
// default deny (incoming) and deny (routed) drop the guests' DHCP and forwarded traffic whatever kvmnet's table
// accepts; `kvmnet doctor` says so and prints the ufw commands, which bring the traffic back. Controls: the same
// traffic before ufw is enabled. The host's ufw files and rulesets are compared before and after.
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UPLINK, makeLab, OUTSIDE, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { hostUfwState, ufwSandbox } from "../helpers/ufw.js";

interface Check {
  id: string;
  level: string;
  message: string;
  fix?: string;
  networks?: string[];
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(section?: (br: string) => string) {
  const before = await hostUfwState();
  const lab: Lab = await makeLab(section ? { section } : {});
  const sb = ufwSandbox(lab.host);
  cleanups.push(async () => {
    await lab.destroy();
    sb.cleanup();
    expect(await hostUfwState()).toBe(before);
  });
  const env = { KVMNET_CONFIG: lab.conf.file };
  return {
    lab,
    sb,
    hook: async (prog: string, tap: string) => await sb.run(process.execPath, [program(prog), tap], env),
    async doctor() {
      const r = await sb.run(process.execPath, [program("kvmnet"), "doctor", "--json"], env);
      const ufw = (JSON.parse(r.out).checks as Check[]).find((c) => c.id === "ufw")!;
      return { code: r.code, ufw };
    },
  };
}

/** The commands of a fix ("...: cmd; cmd"). */
const commands = (fix: string) => fix.replace(/^[^:]*: /, "").split("; ");

describe("ufw", () => {
  it("nat: enabled, guests get no lease and no connection out; doctor prints the ufw commands that fix both", async () => {
    const { lab, sb, hook, doctor } = await setup();
    const g = await lab.addGuest("vm0");
    expect((await hook("qemu-natup", "vm0")).code).toBe(0);
    const stop = await startEchoAddress(lab.outside);
    cleanups.push(stop);
    // Control: before ufw is enabled, lease and connection.
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    expect(await doctor()).toMatchObject({
      code: 0,
      ufw: { level: "ok", message: "ufw is installed but not enabled" },
    });

    await sb.ufw("--force", "enable");
    expect(await lab.host.sh("iptables-save -t filter | grep -c '^:ufw-user-forward'")).toBe("1");
    expect(await lab.dhcp(g)).toBeNull();
    expect(await seenAs(g, OUTSIDE)).toBe("");
    const d = await doctor();
    expect(d.code).toBe(1);
    expect(d.ufw).toMatchObject({ level: "fail", networks: ["nat0"] });
    expect(d.ufw.message).toBe(
      "ufw is active with deny (routed) and deny (incoming): it drops the traffic of nat0 (forwarded traffic, DHCP and DNS to kvmnet's dnsmasq), whatever kvmnet's own rules allow",
    );
    const br = lab.bridge;
    expect(commands(d.ufw.fix!)).toEqual([
      `ufw allow in on ${br} to any port 67 proto udp`,
      `ufw allow in on ${br} to any port 53`,
      `ufw route allow in on ${br}`,
    ]);
    for (const c of commands(d.ufw.fix!)) await sb.ufw(...c.split(" ").slice(1));
    expect(await doctor()).toMatchObject({ code: 0, ufw: { level: "ok" } });
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(await seenAs(g, OUTSIDE)).toBe(HOST_UPLINK);
    // ufw keeps them: after a reload they are still there.
    await sb.ufw("reload");
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });

  it("routed: connections from the outside to a guest need `ufw route allow out on BR` too", async () => {
    const { lab, sb, hook, doctor } = await setup(
      (br) => `[r0]\nmode = routed\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n`,
    );
    const g = await lab.addGuest("vm0");
    expect((await hook("qemu-ifup", "vm0")).code).toBe(0);
    const ip = (await lab.dhcp(g))!.ip;
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UPLINK}`);
    const stop = await startEchoAddress(g);
    cleanups.push(stop);
    expect(await seenAs(lab.outside, ip)).toBe(OUTSIDE);
    await sb.ufw("--force", "enable");
    expect(await seenAs(lab.outside, ip)).toBe("");
    const d = await doctor();
    const br = lab.bridge;
    expect(commands(d.ufw.fix!)).toEqual([
      `ufw allow in on ${br} to any port 67 proto udp`,
      `ufw allow in on ${br} to any port 53`,
      `ufw route allow in on ${br}`,
      `ufw route allow out on ${br}`,
    ]);
    for (const c of commands(d.ufw.fix!)) await sb.ufw(...c.split(" ").slice(1));
    expect(await seenAs(lab.outside, ip)).toBe(OUTSIDE);
    expect(await doctor()).toMatchObject({ code: 0, ufw: { level: "ok" } });
  });

  it("isolated with br_netfilter: guests cannot reach each other; `ufw route allow in on BR out on BR` fixes it", async () => {
    const { lab, sb, hook, doctor } = await setup((br) => `[iso]\nmode = isolated\nbridge = ${br}\n`);
    expect(await lab.host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).toBe("1");
    const g1 = await lab.addGuest("vm1");
    const g2 = await lab.addGuest("vm2");
    await g1.sh("ip addr add 192.0.2.11/24 dev eth0");
    await g2.sh("ip addr add 192.0.2.12/24 dev eth0");
    expect((await hook("qemu-ifup-isolated", "vm1")).code).toBe(0);
    expect((await hook("qemu-ifup-isolated", "vm2")).code).toBe(0);
    const stop = await startEchoAddress(g2);
    cleanups.push(stop);
    expect(await seenAs(g1, "192.0.2.12")).toBe("192.0.2.11");
    await sb.ufw("--force", "enable");
    expect(await seenAs(g1, "192.0.2.12")).toBe("");
    const d = await doctor();
    expect(d.ufw.message).toMatch(/drops the traffic of iso \(traffic between its guests \(br_netfilter\)\)/);
    expect(commands(d.ufw.fix!)).toEqual([`ufw route allow in on ${lab.bridge} out on ${lab.bridge}`]);
    await sb.ufw("route", "allow", "in", "on", lab.bridge, "out", "on", lab.bridge);
    expect(await seenAs(g1, "192.0.2.12")).toBe("192.0.2.11");
    expect(await doctor()).toMatchObject({ code: 0, ufw: { level: "ok" } });
  });
});
