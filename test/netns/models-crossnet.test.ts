// Networks side by side on one host: a host-only network stays closed to the guests of a NAT network that
// forwards for itself, whichever came up first, with either firewall backend.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, pings, type Lab } from "./models-lab.js";

const body = (br: string) =>
  `[ho]\nmode = host-only\nbridge = ${br}\naddress = 192.0.2.1/24\n\n[nat0]\nmode = nat\nbridge = ${br}n\naddress = 198.51.100.1/24\n`;

async function run(lab: Lab, natFirst: boolean) {
  const ho = await lab.addGuest("vm1", "192.0.2.11/24");
  const nat = await lab.addGuest("vm9", "198.51.100.9/24");
  const up = [
    ["qemu-natup", "vm9"],
    ["qemu-ifup-isolated", "vm1"],
  ];
  for (const [prog, tap] of natFirst ? up : up.reverse()) expect((await lab.hook(prog!, tap!)).code).toBe(0);
  await nat.sh("ip route add default via 198.51.100.1");
  await ho.sh("ip route add default via 192.0.2.1");
  // Each side reaches its own host address: the set-up works.
  expect(await pings(nat, "198.51.100.1")).toBe(true);
  expect(await pings(ho, "192.0.2.1")).toBe(true);
  return { natToHo: await pings(nat, "192.0.2.11"), hoToNat: await pings(ho, "198.51.100.9") };
}

describe("host-only beside NAT", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each([true, false])("nftables, NAT first: %s: neither side reaches the other", async (natFirst) => {
    lab = await makeLab({ firewall: "nftables", body });
    expect(await run(lab, natFirst)).toEqual({ natToHo: false, hoToNat: false });
  });

  it("iptables, NAT first: neither side reaches the other", async () => {
    lab = await makeLab({ firewall: "iptables", body });
    expect(await run(lab, true)).toEqual({ natToHo: false, hoToNat: false });
  });

  // Each network's chains are jumped from FORWARD; all forward-in chains come before any forward-out one,
  // so the NAT chain's "from my bridge: accept" cannot pre-empt the host-only chain's "into my bridge: reject".
  it("iptables, host-only first: neither side reaches the other", async () => {
    lab = await makeLab({ firewall: "iptables", body });
    expect(await run(lab, false)).toEqual({ natToHo: false, hoToNat: false });
  });
});
