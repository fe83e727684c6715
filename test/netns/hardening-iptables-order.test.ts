// iptables backend, two networks (issue 9 #3): when every network had its own jumps in FORWARD, a NAT
// network's "from my bridge: accept" placed above a closed network's "into my bridge: reject" let its guests
// into a host-only network, and two hooks starting at once could interleave their FORWARD edits so. Now FORWARD
// has one jump into kvmnet's dispatch chains (KVMNET-FORWARD: by input bridge, then by output bridge), so no
// order between networks exists to get wrong; the host-wide lock stays, since the dispatch chains are shared.
// A host with the older layout (as left by kvmnet 0.1, even in a wrong order) is moved over network by network.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, pings, type Lab } from "./models-lab.js";
import { program } from "../helpers/netns.js";

const body = (br: string) =>
  `[ho]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\ntaps = vh*\n\n` +
  `[nat0]\nmode = nat\nbridge = ${br}n\naddress = 198.51.100.1/24\ntaps = vn*\n`;

/** FORWARD's jumps to kvmnet chains, in order, without the KVMNET- prefix. */
async function forwardOrder(lab: Lab): Promise<string[]> {
  return (await lab.host.sh("iptables -S FORWARD"))
    .split("\n")
    .map((l) => /^-A FORWARD -j KVMNET-(\S+)$/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

/** The rules kvmnet 0.1 made for both networks (its golden files), with ho's forward-in jump below nat0's
 *  forward-out jump, as a race of two hooks could leave them. */
function oldLayout(br: string): string {
  const rej = "-j REJECT --reject-with icmp-port-unreachable";
  return [
    "*filter",
    ...["INP-ho", "FWI-ho", "FWO-ho", "INP-nat0", "FWI-nat0", "FWO-nat0"].map((c) => `:KVMNET-${c} - [0:0]`),
    ...[
      [br, "ho"],
      [`${br}n`, "nat0"],
    ].flatMap(([b, n]) =>
      ["udp -m udp --dport 53", "udp -m udp --dport 67", "tcp -m tcp --dport 53"].map(
        (p) => `-A KVMNET-INP-${n} -i ${b} -p ${p} -j ACCEPT`,
      ),
    ),
    `-A KVMNET-FWI-ho -i ${br} -o ${br} -j ACCEPT`,
    `-A KVMNET-FWI-ho -o ${br} ${rej}`,
    `-A KVMNET-FWO-ho -i ${br} ${rej}`,
    `-A KVMNET-FWI-nat0 -i ${br}n -o ${br}n -j ACCEPT`,
    `-A KVMNET-FWI-nat0 -d 198.51.100.0/24 -o ${br}n -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A KVMNET-FWI-nat0 -o ${br}n ${rej}`,
    `-A KVMNET-FWO-nat0 -s 198.51.100.0/24 -i ${br}n -j ACCEPT`,
    `-A KVMNET-FWO-nat0 -i ${br}n ${rej}`,
    "-A INPUT -j KVMNET-INP-ho",
    "-A INPUT -j KVMNET-INP-nat0",
    "-A FORWARD -j KVMNET-FWI-nat0",
    "-A FORWARD -j KVMNET-FWO-nat0",
    "-A FORWARD -j KVMNET-FWI-ho",
    "-A FORWARD -j KVMNET-FWO-ho",
    "COMMIT",
    "*nat",
    ":KVMNET-PRT-nat0 - [0:0]",
    "-A KVMNET-PRT-nat0 -s 198.51.100.0/24 ! -d 198.51.100.0/24 -j MASQUERADE",
    "-A POSTROUTING -j KVMNET-PRT-nat0",
    "COMMIT",
    "",
  ].join("\n");
}

async function guests(lab: Lab) {
  const ho = await lab.addGuest("vh1", "192.0.2.11/24");
  const nat = await lab.addGuest("vn9", "198.51.100.9/24");
  await ho.sh("ip route add default via 192.0.2.1");
  await nat.sh("ip route add default via 198.51.100.1");
  return { ho, nat };
}

describe("iptables: one jump into kvmnet's dispatch chains, whatever runs at once", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("qemu-ifup of a NAT and a host-only network at once on a cold host, 20 rounds: one FORWARD jump, NAT guest never reaches the host-only guest", async () => {
    lab = await makeLab({ firewall: "iptables", body });
    const { nat } = await guests(lab);
    const env = { KVMNET_CONFIG: lab.conf.file };
    const bad: string[] = [];
    for (let round = 0; round < 20; round++) {
      const runs = await Promise.all(["vn9", "vh1"].map((t) => lab.host.spawn(program("qemu-ifup"), [t], { env })));
      for (const r of runs) expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(await forwardOrder(lab)).toEqual(["FORWARD"]);
      expect(await lab.host.sh("iptables -S KVMNET-FROM | grep -c -- -A; iptables -S KVMNET-TO | grep -c -- -A")).toBe(
        "2\n2",
      );
      expect(await pings(nat, "198.51.100.1"), "the NAT guest reaches its gateway").toBe(true);
      if (await pings(nat, "192.0.2.11")) bad.push(`round ${round}: the NAT guest reached the host-only guest`);
      // Back to a cold host for the next round: nothing of kvmnet's is left.
      const down = await lab.host.tryRun(program("kvmnet"), ["down", "--all", "--force"], { env });
      expect(down.exitCode, String(down.stderr)).toBe(0);
      expect(await lab.host.sh("iptables-save | grep -c KVMNET || true")).toBe("0");
    }
    expect(bad).toEqual([]);
  }, 300_000);

  it("the older layout, even in a wrong order, is moved over by each network's next hook, closed all along", async () => {
    lab = await makeLab({ firewall: "iptables", body });
    const { nat } = await guests(lab);
    for (const tap of ["vh1", "vn9"]) expect((await lab.hook("qemu-ifup", tap)).code).toBe(0);
    // Replace kvmnet's rules with what kvmnet 0.1 left, in a broken order.
    await lab.host.sh("iptables-save | grep -v KVMNET | iptables-restore");
    await lab.host.run("iptables-restore", ["--noflush"], { input: oldLayout(lab.bridge) });
    expect(await forwardOrder(lab)).toEqual(["FWI-nat0", "FWO-nat0", "FWI-ho", "FWO-ho"]);
    expect(await pings(nat, "192.0.2.11"), "control: the broken order lets the NAT guest in").toBe(true);
    // A VM start on the NAT network moves it to the dispatch chains and repairs the host-only network's order.
    const r = await lab.hook("qemu-ifup", "vn9", { KVMNET_VERBOSE: "1" });
    expect(r.code, r.stderr).toBe(0);
    expect(await forwardOrder(lab)).toEqual(["FWI-ho", "FORWARD", "FWO-ho"]);
    expect(await pings(nat, "198.51.100.1")).toBe(true);
    expect(await pings(nat, "192.0.2.11")).toBe(false);
    // The host-only network's next hook moves it too; nothing of the old layout is left.
    expect((await lab.hook("qemu-ifup", "vh1")).code).toBe(0);
    expect(await forwardOrder(lab)).toEqual(["FORWARD"]);
    expect(await lab.host.sh("iptables -S INPUT; iptables -t nat -S POSTROUTING")).not.toMatch(/KVMNET-(INP|PRT)-/);
    expect(await pings(nat, "192.0.2.11")).toBe(false);
    expect(await pings(nat, "198.51.100.1")).toBe(true);
    // And the runs after that find nothing to do.
    expect((await lab.hook("qemu-ifup", "vh1", { KVMNET_VERBOSE: "1" })).stderr).toBe("");
    expect((await lab.hook("qemu-ifup", "vn9", { KVMNET_VERBOSE: "1" })).stderr).toBe("");
  }, 120_000);
});
