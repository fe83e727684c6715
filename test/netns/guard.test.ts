// guard = yes: per-VM anti-spoofing in kvmnet's bridge table. Each attack is tried with the guard and, as the
// control, on the same network without it; an honest guest is never hindered (its first lease included). What a
// victim receives is counted on its own eth0 (a netdev ingress counter in its namespace).
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { ATT, attachGuests, qemuHook, VIC, WEB } from "../helpers/guard.js";
import { program, type Netns } from "../helpers/netns.js";

// Count in G what arrives on eth0 from the attacker's MAC and matches WHAT (nft match text).
async function counter(g: Netns, what: string): Promise<() => Promise<number>> {
  await g.sh(
    `nft add table netdev v && nft add chain netdev v in '{ type filter hook ingress device eth0 priority 0; }' && nft add rule netdev v in ether saddr ${ATT} ${what} counter`,
  );
  return async () => Number(/packets (\d+)/.exec(await g.sh("nft list chain netdev v in"))?.[1] ?? "0");
}

const py = async (g: Netns, code: string) => await g.tryRun("python3", ["-c", code], { timeout: 10_000 });
const hex = (mac: string) => mac.replace(/:/g, "");

// Send three raw Ethernet frames from G's eth0: to DST (hex MAC), of ethertype TYPE, with PAYLOAD (hex).
async function rawFrames(g: Netns, dst: string, type: string, payload: string): Promise<void> {
  const frame = `${dst}${hex(ATT)}${type}${payload}`;
  const r = await py(
    g,
    `import socket;s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(('eth0',0));[s.send(bytes.fromhex('${frame}')) for _ in range(3)]`,
  );
  expect(r.exitCode, String(r.stderr)).toBe(0);
}

describe.each([
  ["guard = yes", true],
  ["control, no guard", false],
])("%s", (_name, guarded) => {
  let lab: Lab;
  let att: Netns;
  let vic: Netns;
  afterEach(async () => await lab?.destroy());

  async function setup() {
    const extra = `host.web = ${WEB},192.0.2.10\n${guarded ? "guard = yes\n" : ""}`;
    lab = await makeLab({ section: (br) => natSection(br, extra) });
    let web: Netns;
    [att, vic, web] = (await attachGuests(lab, [
      ["vm0", ATT],
      ["vm1", VIC],
      ["vm2", WEB],
    ])) as [Netns, Netns, Netns];
    // The honest first leases: dynamic for both, static for web.
    expect((await lab.dhcp(att))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect((await lab.dhcp(vic))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
  }

  it("an honest guest gets its lease and reaches the gateway, the outside and other guests", async () => {
    await setup();
    expect(await lab.ping(att, "192.0.2.1")).toBe(true);
    expect(await lab.ping(att, OUTSIDE)).toBe(true);
    expect(await lab.ping(att, "192.0.2.10")).toBe(true);
    if (!guarded) return;
    expect(await lab.host.sh("nft list set bridge kvmnet guard_ips")).toContain(`${ATT} . 192.0.2.1`);
    // The tap's guard goes with it.
    expect((await lab.hook("qemu-natdown", "vm0")).code).toBe(0);
    expect(await lab.host.sh("nft list map bridge kvmnet guard_iif")).not.toContain('"vm0"');
    expect(await lab.host.sh("nft list table bridge kvmnet")).not.toContain("chain guard-vm0");
  });

  it("a forged source MAC", async () => {
    await setup();
    await att.sh("ip link set eth0 address 52:54:00:00:0d:0d");
    expect(await lab.ping(att, "192.0.2.1")).toBe(!guarded);
  });

  it("a forged source IPv4 address", async () => {
    await setup();
    await att.sh("ip addr add 192.0.2.77/24 dev eth0");
    const r = await att.tryRun("busybox", ["ping", "-c", "1", "-W", "2", "-I", "192.0.2.77", "192.0.2.1"], {
      timeout: 10_000,
    });
    expect(r.exitCode === 0).toBe(!guarded);
  });

  it("ARP poisoning: claiming web's address", async () => {
    await setup();
    const got = await counter(vic, "arp saddr ip 192.0.2.10");
    // Gratuitous ARP replies, "192.0.2.10 is at ATT", broadcast (a raw frame: the attacker does not hold the address).
    await rawFrames(att, "ffffffffffff", "0806", `0001080006040002${hex(ATT)}c000020affffffffffffc000020a`);
    expect((await got()) > 0).toBe(!guarded);
  });

  it("a rogue DHCP server", async () => {
    await setup();
    const got = await counter(vic, "udp sport 67");
    await py(
      att,
      "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1);s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'eth0');s.bind(('',67));[s.sendto(b'\\x02'+b'\\0'*299,('255.255.255.255',68)) for _ in range(3)]",
    );
    expect((await got()) > 0).toBe(!guarded);
  });

  it("a rogue IPv6 router advertisement", async () => {
    await setup();
    const got = await counter(vic, "icmpv6 type nd-router-advert");
    // A router advertisement to all nodes, router lifetime 1800 s (a raw frame: no address needed to send it).
    const ip6 = "6000000000103aff" + "fe80000000000000505400fffe000bad" + "ff020000000000000000000000000001";
    await rawFrames(att, "333300000001", "86dd", `${ip6}8600000040000708${"0".repeat(16)}`);
    expect((await got()) > 0).toBe(!guarded);
  });
});

describe("guard = yes without the guest's MAC", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());
  it("a hook whose parent names no mac= is refused (exit 2) before the tap joins the bridge", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "guard = yes\n") });
    await lab.addGuest("vm0");
    const r = await qemuHook(lab, "qemu-natup", "vm0", null);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("guard = yes, and the guest's MAC for vm0 is not in the parent QEMU's command line");
    expect(await lab.host.sh("ls /sys/class/net/vm0/master 2>/dev/null || echo none")).toBe("none");
  });
});

// README: what guarding costs per VM start and stop. Every program a warm natup and its natdown execute (strace),
// with the guard and without: the difference is one nft -f each, and at a start one more nft list.
describe("what the guard costs", () => {
  let lab: Lab | undefined;
  afterEach(async () => await lab?.destroy());

  // "PROGRAM FIRSTARG" of each program HOOK executes for TAP (run as QEMU does), the hook's own start left out.
  async function traced(l: Lab, hook: string, tap: string, mac: string): Promise<string[]> {
    const log = `${l.conf.dir}/execve-${hook}.log`;
    const js =
      "const r=require('child_process').spawnSync(process.argv[1],[process.argv[2]],{stdio:'inherit'});process.exit(r.status??1)";
    const args = [
      "-e",
      js,
      program(hook),
      tap,
      "-netdev",
      `tap,id=n0,ifname=${tap}`,
      "-device",
      `virtio-net-pci,netdev=n0,mac=${mac}`,
    ];
    const r = await l.host.tryRun(
      "strace",
      ["-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", log, "node", ...args],
      {
        env: { KVMNET_CONFIG: l.conf.file },
        timeout: 60_000,
      },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const execs = readFileSync(log, "utf8")
      .split("\n")
      .filter((x) => / = 0$/.test(x))
      .map((x) => /execve\("[^"]*?([^/"]+)", \["[^"]*"(?:, "([^"]*)")?/.exec(x)!)
      .map((m) => `${m[1]} ${m[2] ?? ""}`.trim());
    // node (the stand-in for QEMU), the hook's script, node from its #! line.
    expect(execs.slice(0, 3).map((e) => e.split(" ")[0])).toEqual(["node", `${hook}.cjs`, "node"]);
    return execs.slice(3);
  }

  async function costs(guarded: boolean) {
    const l = await makeLab({ section: (br) => natSection(br, guarded ? "guard = yes\n" : "") });
    lab = l;
    await l.addGuest("vm0", ATT);
    await l.addGuest("vm1", VIC);
    // The network is up: vm1's start is the warm path, and its stop leaves vm0 running.
    expect((await qemuHook(l, "qemu-natup", "vm0", ATT)).code).toBe(0);
    const up = await traced(l, "qemu-natup", "vm1", VIC);
    const down = await traced(l, "qemu-natdown", "vm1", VIC);
    await l.destroy();
    lab = undefined;
    return { up, down };
  }

  // What A has beyond B, as a multiset.
  const extra = (a: string[], b: string[]) => {
    const rest = [...b];
    return a.filter((x) => {
      const i = rest.indexOf(x);
      if (i < 0) return true;
      rest.splice(i, 1);
      return false;
    });
  };

  it("one nft -f more per VM start and stop, and one nft list more per start, nothing else", async () => {
    const plain = await costs(false);
    const guarded = await costs(true);
    const both = { up: extra(guarded.up, plain.up).sort(), down: extra(guarded.down, plain.down).sort() };
    expect(both, `${guarded.up.join(", ")} | ${guarded.down.join(", ")}`).toEqual({
      up: ["nft -f", "nft list"],
      down: ["nft -f"],
    });
    expect(extra(plain.up, guarded.up)).toEqual([]);
    expect(extra(plain.down, guarded.down)).toEqual([]);
  });
});
