// Networks side by side on one host: a host-only network stays closed to the guests of a NAT network that
// forwards for itself, whichever came up first. With iptables the order matters (see the known bug below).
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, pings, type Lab } from "./models-lab.js";

const body = (br: string) => `[ho]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\n\n[nat0]\nmode = nat\nbridge = ${br}n\naddress = 198.51.100.1/24\n`;

function run(lab: Lab, natFirst: boolean) {
  const ho = lab.addGuest("vm1", "192.0.2.11/24");
  const nat = lab.addGuest("vm9", "198.51.100.9/24");
  const up = [["qemu-natup", "vm9"], ["qemu-ifup-isolated", "vm1"]];
  for (const [prog, tap] of natFirst ? up : up.reverse()) expect(lab.hook(prog!, tap!).code).toBe(0);
  nat.sh("ip route add default via 198.51.100.1");
  ho.sh("ip route add default via 192.0.2.1");
  // Each side reaches its own host address: the set-up works.
  expect(pings(nat, "198.51.100.1")).toBe(true);
  expect(pings(ho, "192.0.2.1")).toBe(true);
  return { natToHo: pings(nat, "192.0.2.11"), hoToNat: pings(ho, "198.51.100.9") };
}

describe("host-only beside NAT", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());

  it.each([true, false])("nftables, NAT first: %s: neither side reaches the other", (natFirst) => {
    lab = makeLab({ firewall: "nftables", body });
    expect(run(lab, natFirst)).toEqual({ natToHo: false, hoToNat: false });
  });

  it("iptables, NAT first: neither side reaches the other", () => {
    lab = makeLab({ firewall: "iptables", body });
    expect(run(lab, true)).toEqual({ natToHo: false, hoToNat: false });
  });

  // KNOWN BUG (iptables backend): each network's chain is jumped from the top of FORWARD, so the network that
  // came up last is evaluated first, and the NAT chain's "from my bridge: ACCEPT" ends the FORWARD chain before
  // the host-only chain's reject is reached: NAT guests reach host-only guests (replies pass as established).
  // nftables is immune (every table must accept). This pins today's behaviour; when the iptables jumps are
  // ordered (restrictive networks first), natToHo turns false and this test must become the one above.
  it("iptables, host-only first: KNOWN BUG, NAT guests reach host-only guests", () => {
    lab = makeLab({ firewall: "iptables", body });
    expect(run(lab, false)).toEqual({ natToHo: true, hoToNat: false });
  });
});
