// Other tables' base chains with policy drop on forward or input, in every place they are found: nft (ip, inet and
// bridge families), iptables-nft (any table, e.g. mangle) and iptables-legacy (which nft cannot see). Each breaks a
// guest's traffic whatever kvmnet's table accepts (control: the same traffic before); `kvmnet doctor` names the
// chain and prints commands for the tool that shows it, which bring the traffic back. And br_netfilter: a bridge's
// own nf_call_iptables = 0 does not take its frames out of the IPv4 hooks while the sysctl is 1.
import { afterEach, describe, expect, it } from "vitest";
import { HOST_UPLINK, makeLab, natSection, OUTSIDE, seenAs, startEchoAddress, type Lab } from "../helpers/lab.js";
import { Netns, program } from "../helpers/netns.js";
import { hostUfwState } from "../helpers/ufw.js";

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

async function doctor(lab: Lab) {
  const r = await lab.host.tryRun(process.execPath, [program("kvmnet"), "doctor", "--json"], {
    env: { KVMNET_CONFIG: lab.conf.file },
  });
  const checks = JSON.parse(String(r.stdout)).checks as Check[];
  return { code: r.exitCode, bad: checks.filter((c) => c.level !== "ok") };
}

/** Can nft match a bridge table's packets by bridge name (meta ibrname) on this kernel? */
async function bridgeMeta(): Promise<boolean> {
  const ns = await Netns.create("kbm");
  try {
    return (
      (
        await ns.tryRun("nft", [
          "add table bridge t; add chain bridge t c { type filter hook forward priority 0; }; add rule bridge t c meta ibrname x accept",
        ])
      ).exitCode === 0
    );
  } finally {
    await ns.destroy();
  }
}

const iso = (br: string) => `[iso]\nmode = isolated\nbridge = ${br}\n`;

/** A lab with the network up and a way to tell whether the guests' traffic of one kind gets through. */
async function start(kind: "lease" | "out" | "cross") {
  const before = await hostUfwState();
  const lab = await makeLab(kind === "cross" ? { section: iso } : { section: (br) => natSection(br) });
  cleanups.push(async () => {
    await lab.destroy();
    expect(await hostUfwState()).toBe(before);
  });
  const g1 = await lab.addGuest("vm1");
  if (kind === "cross") {
    const g2 = await lab.addGuest("vm2");
    await g1.sh("ip addr add 192.0.2.11/24 dev eth0");
    await g2.sh("ip addr add 192.0.2.12/24 dev eth0");
    for (const t of ["vm1", "vm2"]) expect((await lab.hook("qemu-ifup-isolated", t)).code).toBe(0);
    cleanups.push(await startEchoAddress(g2));
    return { lab, passes: async () => (await seenAs(g1, "192.0.2.12")) === "192.0.2.11" };
  }
  expect((await lab.hook("qemu-natup", "vm1")).code).toBe(0);
  if (kind === "lease") return { lab, passes: async () => (await lab.dhcp(g1)) !== null };
  expect(await lab.dhcp(g1)).not.toBeNull();
  cleanups.push(await startEchoAddress(lab.outside));
  return { lab, passes: async () => (await seenAs(g1, OUTSIDE)) === HOST_UPLINK };
}

describe("foreign drop policies", () => {
  it.for([
    {
      name: "nft bridge table, forward hook: guests of an isolated network",
      kind: "cross" as const,
      setup:
        "nft add table bridge other && nft add chain bridge other fw '{ type filter hook forward priority 0; policy drop; }'",
      id: "forward-drop",
      where: "bridge other chain fw",
      fix: (br: string) => [`nft insert rule bridge other fw meta ibrname ${br} accept`],
    },
    {
      name: "nft bridge table, input hook: a nat guest's lease",
      kind: "lease" as const,
      setup:
        "nft add table bridge other && nft add chain bridge other in '{ type filter hook input priority 0; policy drop; }'",
      id: "input-drop",
      where: "bridge other chain in",
      fix: (br: string) => [`nft insert rule bridge other in meta ibrname ${br} accept`],
    },
    {
      name: "iptables-legacy FORWARD: a nat guest's connections out",
      kind: "out" as const,
      setup: "iptables-legacy -P FORWARD DROP",
      id: "forward-drop",
      where: "ip filter chain FORWARD",
      fix: (br: string) => [
        `iptables-legacy -I FORWARD -i ${br} -j ACCEPT`,
        `iptables-legacy -I FORWARD -o ${br} -j ACCEPT`,
      ],
    },
    {
      name: "iptables-legacy INPUT: a nat guest's lease",
      kind: "lease" as const,
      setup: "iptables-legacy -P INPUT DROP",
      id: "input-drop",
      where: "ip filter chain INPUT",
      fix: (br: string) => [
        `iptables-legacy -I INPUT -i ${br} -p udp -m multiport --dports 53,67 -j ACCEPT`,
        `iptables-legacy -I INPUT -i ${br} -p tcp --dport 53 -j ACCEPT`,
      ],
    },
    {
      name: "iptables-nft mangle FORWARD: a nat guest's connections out",
      kind: "out" as const,
      setup: "iptables -t mangle -P FORWARD DROP",
      id: "forward-drop",
      where: "ip mangle chain FORWARD",
      fix: (br: string) => [
        `iptables -t mangle -I FORWARD -i ${br} -j ACCEPT`,
        `iptables -t mangle -I FORWARD -o ${br} -j ACCEPT`,
      ],
    },
  ])("$name: dropped; doctor names the chain and its fix brings the traffic back", async (c, { skip }) => {
    const { lab, passes } = await start(c.kind);
    expect(await passes()).toBe(true);
    expect((await doctor(lab)).bad.filter((f) => f.id === c.id)).toEqual([]);
    await lab.host.sh(c.setup);
    expect(await passes()).toBe(false);
    const d = await doctor(lab);
    expect(d.code).toBe(1);
    const f = d.bad.filter((x) => x.id === c.id);
    expect(f).toHaveLength(1);
    expect(f[0]!.message.startsWith(`${c.where} has policy drop`)).toBe(true);
    const tool = c.fix(lab.bridge)[0]!.split(" ")[0]!;
    const cmds = f[0]!
      .fix!.replace(/^[^:]*: /, "")
      .split("; ")
      .filter((x) => x.startsWith(`${tool} `));
    expect(cmds).toEqual(c.fix(lab.bridge));
    // `meta ibrname` needs nft_meta_bridge, which this machine's kernel lacks (Debian's has it as a module): the
    // bridge-table fixes are carried out in a VM with Debian's kernel (test/vm/coexist-bridge.test.ts).
    // Reported as skipped, not passed: the doctor's part above ran, the fix's part cannot here.
    if (cmds.some((x) => x.includes("meta ibrname")) && !(await bridgeMeta()))
      return skip("this kernel lacks nft_meta_bridge: the fix is checked in test/vm/coexist-bridge.test.ts");
    for (const cmd of cmds) await lab.host.sh(cmd);
    expect(await passes()).toBe(true);
    expect((await doctor(lab)).bad.filter((x) => x.id === c.id)).toEqual([]);
  });

  it("br_netfilter at 1: a bridge's nf_call_iptables 0 does not help; the sysctl doctor prints does", async () => {
    const { lab, passes } = await start("cross");
    await lab.host.sh(
      "nft add table ip other && nft add chain ip other fw '{ type filter hook forward priority 0; policy drop; }'",
    );
    expect(await lab.host.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).toBe("1");
    expect(await passes()).toBe(false);
    // What kvmnet could do on its own bridge does not switch br_netfilter off for it.
    await lab.host.sh(`ip link set ${lab.bridge} type bridge nf_call_iptables 0`);
    expect(await lab.host.sh(`cat /sys/class/net/${lab.bridge}/bridge/nf_call_iptables`)).toBe("0");
    expect(await passes()).toBe(false);
    const d = await doctor(lab);
    const brnf = d.bad.find((x) => x.id === "br_netfilter")!;
    expect(brnf.message).toMatch(/kvmnet cannot switch this off for its bridges/);
    const f = d.bad.find((x) => x.id === "forward-drop")!;
    expect(f).toMatchObject({ level: "fail", networks: ["iso"] });
    expect(f.fix).toMatch(
      /; or, as iso only meets it through br_netfilter, sysctl -w net\.bridge\.bridge-nf-call-iptables=0 \(/,
    );
    await lab.host.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
    expect(await passes()).toBe(true);
    expect((await doctor(lab)).bad).toEqual([]);
  });
});
