// guard = yes: per-VM anti-spoofing in kvmnet's bridge table. Each attack is tried with the guard and, as the
// control, on the same network without it; an honest guest is never hindered (its first lease included). What a
// victim receives is counted on its own eth0 (a netdev ingress counter in its namespace).
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { ATT, qemuHook, VIC, WEB } from "../helpers/guard.js";
import { program, type Netns } from "../helpers/netns.js";

// Count in G what arrives on eth0 from the attacker's MAC and matches WHAT (nft match text).
function counter(g: Netns, what: string): () => number {
  g.sh(
    `nft add table netdev v && nft add chain netdev v in '{ type filter hook ingress device eth0 priority 0; }' && nft add rule netdev v in ether saddr ${ATT} ${what} counter`,
  );
  return () => Number(/packets (\d+)/.exec(g.sh("nft list chain netdev v in"))?.[1] ?? "0");
}

const py = (g: Netns, code: string) => g.tryRun("python3", ["-c", code], { timeout: 10_000 });
const hex = (mac: string) => mac.replace(/:/g, "");

// Send three raw Ethernet frames from G's eth0: to DST (hex MAC), of ethertype TYPE, with PAYLOAD (hex).
function rawFrames(g: Netns, dst: string, type: string, payload: string): void {
  const frame = `${dst}${hex(ATT)}${type}${payload}`;
  const r = py(
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
  afterEach(() => lab?.destroy());

  function setup() {
    const extra = `host.web = ${WEB},192.0.2.10\n${guarded ? "guard = yes\n" : ""}`;
    lab = makeLab({ section: (br) => natSection(br, extra) });
    att = lab.addGuest("vm0", ATT);
    vic = lab.addGuest("vm1", VIC);
    const web = lab.addGuest("vm2", WEB);
    for (const [tap, mac] of [
      ["vm0", ATT],
      ["vm1", VIC],
      ["vm2", WEB],
    ] as const) {
      const r = qemuHook(lab, "qemu-natup", tap, mac);
      expect(r.code, r.stderr).toBe(0);
    }
    // The honest first leases: dynamic for both, static for web.
    expect(lab.dhcp(att)?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(lab.dhcp(vic)?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(lab.dhcp(web)?.ip).toBe("192.0.2.10");
  }

  it("an honest guest gets its lease and reaches the gateway, the outside and other guests", () => {
    setup();
    expect(lab.ping(att, "192.0.2.1")).toBe(true);
    expect(lab.ping(att, OUTSIDE)).toBe(true);
    expect(lab.ping(att, "192.0.2.10")).toBe(true);
    if (!guarded) return;
    expect(lab.host.sh("nft list set bridge kvmnet guard_ips")).toContain(`${ATT} . 192.0.2.1`);
    // The tap's guard goes with it.
    expect(lab.hook("qemu-natdown", "vm0").code).toBe(0);
    expect(lab.host.sh("nft list map bridge kvmnet guard_iif")).not.toContain('"vm0"');
    expect(lab.host.sh("nft list table bridge kvmnet")).not.toContain("chain guard-vm0");
  });

  it("a forged source MAC", () => {
    setup();
    att.sh("ip link set eth0 address 52:54:00:00:0d:0d");
    expect(lab.ping(att, "192.0.2.1")).toBe(!guarded);
  });

  it("a forged source IPv4 address", () => {
    setup();
    att.sh("ip addr add 192.0.2.77/24 dev eth0");
    const r = att.tryRun("busybox", ["ping", "-c", "1", "-W", "2", "-I", "192.0.2.77", "192.0.2.1"], {
      timeout: 10_000,
    });
    expect(r.exitCode === 0).toBe(!guarded);
  });

  it("ARP poisoning: claiming web's address", () => {
    setup();
    const got = counter(vic, "arp saddr ip 192.0.2.10");
    // Gratuitous ARP replies, "192.0.2.10 is at ATT", broadcast (a raw frame: the attacker does not hold the address).
    rawFrames(att, "ffffffffffff", "0806", `0001080006040002${hex(ATT)}c000020affffffffffffc000020a`);
    expect(got() > 0).toBe(!guarded);
  });

  it("a rogue DHCP server", () => {
    setup();
    const got = counter(vic, "udp sport 67");
    py(
      att,
      "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1);s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'eth0');s.bind(('',67));[s.sendto(b'\\x02'+b'\\0'*299,('255.255.255.255',68)) for _ in range(3)]",
    );
    expect(got() > 0).toBe(!guarded);
  });

  it("a rogue IPv6 router advertisement", async () => {
    setup();
    const got = counter(vic, "icmpv6 type nd-router-advert");
    // A router advertisement to all nodes, router lifetime 1800 s (a raw frame: no address needed to send it).
    const ip6 = "6000000000103aff" + "fe80000000000000505400fffe000bad" + "ff020000000000000000000000000001";
    rawFrames(att, "333300000001", "86dd", `${ip6}8600000040000708${"0".repeat(16)}`);
    expect(got() > 0).toBe(!guarded);
  });
});

describe("guard = yes without the guest's MAC", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());
  it("a hook whose parent names no mac= is refused (exit 2) before the tap joins the bridge", () => {
    lab = makeLab({ section: (br) => natSection(br, "guard = yes\n") });
    lab.addGuest("vm0");
    const r = qemuHook(lab, "qemu-natup", "vm0", null);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("guard = yes, and the guest's MAC for vm0 is not in the parent QEMU's command line");
    expect(lab.host.sh("ls /sys/class/net/vm0/master 2>/dev/null || echo none")).toBe("none");
  });
});

// README: what guarding costs per VM start and stop. Every program a warm natup and its natdown execute (strace),
// with the guard and without: the difference is one nft -f each, and at a start one more nft list.
describe("what the guard costs", () => {
  let lab: Lab | undefined;
  afterEach(() => lab?.destroy());

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
    const l = makeLab({ section: (br) => natSection(br, guarded ? "guard = yes\n" : "") });
    lab = l;
    await l.addGuest("vm0", ATT);
    await l.addGuest("vm1", VIC);
    // The network is up: vm1's start is the warm path, and its stop leaves vm0 running.
    expect(qemuHook(l, "qemu-natup", "vm0", ATT).code).toBe(0);
    const up = await traced(l, "qemu-natup", "vm1", VIC);
    const down = await traced(l, "qemu-natdown", "vm1", VIC);
    l.destroy();
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
