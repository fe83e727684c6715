// iptables backend, two networks (issue 9 #3): FORWARD must jump to every forward-in chain before any
// forward-out chain, or a NAT network's "from my bridge: accept" lets its guests into a host-only network.
// Hooks of two networks starting at once used to interleave their FORWARD edits; a host-wide lock now
// serialises them, and every run repairs a wrong order (left by a race or an older kvmnet).
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, pings, type Lab } from "./models-lab.js";
import { program } from "../helpers/netns.js";

const body = (br: string) => `[ho]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\ntaps = vh*\n\n` +
  `[nat0]\nmode = nat\nbridge = ${br}n\naddress = 198.51.100.1/24\ntaps = vn*\n`;

/** FORWARD's jumps to kvmnet chains, in order, as "FWI-ho" etc. */
function forwardOrder(lab: Lab): string[] {
  return lab.host.sh("iptables -S FORWARD").split("\n").map((l) => /^-A FORWARD -j KVMNET-(FW[IO]-\S+)$/.exec(l)?.[1]).filter((x): x is string => !!x);
}

/** True when every forward-in jump comes before every forward-out jump. */
function inBeforeOut(order: string[]): boolean {
  const firstOut = order.findIndex((c) => c.startsWith("FWO-"));
  return firstOut < 0 || !order.slice(firstOut).some((c) => c.startsWith("FWI-"));
}

function guests(lab: Lab) {
  const ho = lab.addGuest("vh1", "192.0.2.11/24");
  const nat = lab.addGuest("vn9", "198.51.100.9/24");
  ho.sh("ip route add default via 192.0.2.1");
  nat.sh("ip route add default via 198.51.100.1");
  return { ho, nat };
}

describe("iptables: forward-in jumps before forward-out jumps, whatever runs at once", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());

  it("qemu-ifup of a NAT and a host-only network at once on a cold host, 20 rounds: order kept, NAT guest never reaches the host-only guest", async () => {
    lab = makeLab({ firewall: "iptables", body });
    const { nat } = guests(lab);
    const env = { KVMNET_CONFIG: lab.conf.file };
    const bad: string[] = [];
    for (let round = 0; round < 20; round++) {
      const runs = await Promise.all(["vn9", "vh1"].map((t) => lab.host.spawn(program("qemu-ifup"), [t], { env })));
      for (const r of runs) expect(r.exitCode, String(r.stderr)).toBe(0);
      const order = forwardOrder(lab);
      expect([...order].sort()).toEqual(["FWI-ho", "FWI-nat0", "FWO-ho", "FWO-nat0"]);
      if (!inBeforeOut(order)) bad.push(`round ${round}: ${order.join(" ")}`);
      expect(pings(nat, "198.51.100.1"), "the NAT guest reaches its gateway").toBe(true);
      if (pings(nat, "192.0.2.11")) bad.push(`round ${round}: the NAT guest reached the host-only guest`);
      // Back to a cold host for the next round.
      const down = lab.host.tryRun(program("kvmnet"), ["down", "--all", "--force"], { env });
      expect(down.exitCode, String(down.stderr)).toBe(0);
      expect(forwardOrder(lab)).toEqual([]);
    }
    expect(bad).toEqual([]);
  }, 300_000);

  it("a wrong order (as left by an older kvmnet) is repaired by the next hook run of either network", () => {
    lab = makeLab({ firewall: "iptables", body });
    const { nat } = guests(lab);
    for (const tap of ["vh1", "vn9"]) expect(lab.hook("qemu-ifup", tap).code).toBe(0);
    expect(inBeforeOut(forwardOrder(lab))).toBe(true);
    expect(pings(nat, "192.0.2.11")).toBe(false);
    // Break it: the host-only network's forward-in jump below the NAT network's forward-out jump.
    lab.host.sh("iptables -D FORWARD -j KVMNET-FWI-ho && iptables -A FORWARD -j KVMNET-FWI-ho");
    expect(inBeforeOut(forwardOrder(lab))).toBe(false);
    expect(pings(nat, "192.0.2.11"), "control: the broken order lets the NAT guest in").toBe(true);
    // A VM start on the NAT network (all of whose own rules are in place) repairs it.
    const r = lab.hook("qemu-ifup", "vn9", { KVMNET_VERBOSE: "1" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/-I FORWARD 1 -j KVMNET-FWI-ho/);
    expect(inBeforeOut(forwardOrder(lab))).toBe(true);
    expect(forwardOrder(lab).sort()).toEqual(["FWI-ho", "FWI-nat0", "FWO-ho", "FWO-nat0"]);
    expect(pings(nat, "192.0.2.11")).toBe(false);
    // And the run after that finds nothing to do.
    expect(lab.hook("qemu-ifup", "vh1", { KVMNET_VERBOSE: "1" }).stderr).toBe("");
  }, 120_000);
});
