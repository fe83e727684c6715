// A host NIC with an address is refused as TAP whatever its link state, and an MTU the TAP cannot take is
// refused before anything changes (issue 9: both were taken, or failed half-way, before).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { nsState } from "./models-lab.js";

let lab: Lab;
beforeAll(async () => {
  lab = await makeLab({ section: (br) => natSection(br, "mtu = 65535\n") });
  // nic1's peer is in no namespace's use and stays down: nic1 is up without carrier, like a NIC whose cable is out.
  await lab.host.sh(
    "ip link add nic1 type veth peer name nic1p && ip addr add 198.51.100.5/24 dev nic1 && ip link set nic1 up",
  );
  await lab.host.sh("ip link add nic2 type veth peer name nic2p && ip addr add 198.51.100.133/25 dev nic2");
  await lab.host.sh("ip tuntap add vm0 mode tap");
  await lab.host.sh("ip tuntap add tp0 mode tap && ip addr add 198.51.100.200/32 dev tp0");
});
afterAll(async () => await lab?.destroy());

describe("refused before anything changes (exit 2)", () => {
  it.each([
    ["up without carrier", "nic1", "198.51.100.5/24"],
    ["admin-down", "nic2", "198.51.100.133/25"],
    ["a persistent tap, down", "tp0", "198.51.100.200/32"],
  ])("a NIC with an address that is %s", async (_how, nic, addr) => {
    expect(await lab.host.sh(`ip -br link show ${nic}`)).toMatch(/DOWN/);
    const before = await nsState(lab.host, lab.conf.stateDir);
    const r = await lab.hook("qemu-natup", nic);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `qemu-natup: refusing ${nic}: it carries the address ${addr}; a hook is given the VM's tap, never a host interface`,
    );
    expect(await nsState(lab.host, lab.conf.stateDir)).toBe(before);
  });

  it("an mtu above what the tap takes names the mtu line", async () => {
    const max = JSON.parse(await lab.host.sh("ip -d -j link show dev vm0"))[0].max_mtu as number;
    expect(max).toBeLessThan(65535);
    const before = await nsState(lab.host, lab.conf.stateDir);
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `qemu-natup: ${lab.conf.file}:10: mtu: 65535 is more than vm0 takes (at most ${max}); choose mtu = ${max} or less`,
    );
    expect(await nsState(lab.host, lab.conf.stateDir)).toBe(before);
  });
});
