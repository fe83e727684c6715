// default = yes is honoured by every program among the networks of its modes (issue 14 #3): with two NAT
// networks, qemu-natup takes the default one, with a real bridge, nft table and dnsmasq.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";

let lab: Lab;
const second = (br: string) => `[nat1]\nmode = nat\nbridge = ${br}x\naddress = 198.51.100.1/24\n`;

beforeAll(async () => {
  lab = await makeLab({ section: (br) => `${second(br)}${natSection(br, "default = true\n")}` });
  await lab.addGuest("vm0");
});
afterAll(async () => await lab?.destroy());

describe("two NAT networks, one default = true", () => {
  it("qemu-natup attaches the tap to the default one and leaves the other alone; qemu-natdown detaches it", async () => {
    const up = await lab.hook("qemu-natup", "vm0");
    expect(up.code, up.stderr).toBe(0);
    expect(await lab.host.sh("ip -j link show dev vm0")).toContain(`"master":"${lab.bridge}"`);
    expect(await lab.host.sh("ip -br link")).not.toContain(`${lab.bridge}x`);
    const down = await lab.hook("qemu-natdown", "vm0");
    expect(down.code, down.stderr).toBe(0);
    expect(await lab.host.sh("ip -j link show dev vm0")).not.toContain('"master"');
  });
});
