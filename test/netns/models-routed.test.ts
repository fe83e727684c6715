// mode = routed through the generic qemu-ifup, in real namespaces with both firewall backends: forwarding
// without NAT, so the outside sees the guests' own addresses and can reach them; only through the uplink.
import { afterEach, describe, expect, it } from "vitest";
import {
  HOST_SIDE,
  HOST_UP,
  makeLab,
  OUTSIDE,
  pings,
  seenAs,
  SIDE,
  startEchoAddress,
  type Lab,
  expectTwiceNoChange,
} from "./models-lab.js";

const body = (br: string) => `[rt]
mode = routed
bridge = ${br}
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.150
uplink = up0
`;

describe.each(["nftables", "iptables"] as const)("routed with %s", (firewall) => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("twice changes nothing the second time; forwarding on, no NAT rule anywhere", async () => {
    lab = await makeLab({ firewall, body, side: true });
    await lab.addGuest("vm0");
    await expectTwiceNoChange(lab, "qemu-ifup", "vm0", /ip_forward/);
    expect(await lab.host.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("1");
    expect(await lab.host.sh("nft list ruleset")).not.toMatch(/masquerade|snat|nat hook/);
    // A routed bridge keeps IPv6 as the host configures it (only isolated and host-only turn it off).
    expect(await lab.host.sh(`cat /proc/sys/net/ipv6/conf/${lab.bridge}/disable_ipv6`)).toBe("0");
  });

  it("the outside sees the guest's own address and reaches it; the other interface does neither", async () => {
    lab = await makeLab({ firewall, body, side: true });
    const g = await lab.addGuest("vm0");
    await lab.addGuest("vm1", "192.0.2.12/24");
    expect((await lab.hook("qemu-ifup", "vm0")).code).toBe(0);
    expect((await lab.hook("qemu-ifup", "vm1")).code).toBe(0);
    const lease = await lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1([0-4]\d|50)$/);
    expect(lease?.router).toBe("192.0.2.1");
    expect(await pings(g, "192.0.2.12")).toBe(true);
    // Routed: the outside needs a return route to the guests' subnet (the seed says so too).
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
    await lab.side!.sh(`ip route add 192.0.2.0/24 via ${HOST_SIDE}`);
    expect(await pings(g, OUTSIDE)).toBe(true);
    expect(await pings(lab.outside, lease!.ip)).toBe(true);
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(await seenAs(g, OUTSIDE)).toBe(lease!.ip);
    } finally {
      stop();
    }
    // uplink = up0: nothing is forwarded between the guests and any other interface, either way.
    expect(await pings(g, SIDE)).toBe(false);
    expect(await pings(lab.side!, lease!.ip)).toBe(false);
    // A guest sending from an address outside its subnet is not forwarded (no spoofing through the host).
    await g.sh("ip addr add 192.0.2.250/32 dev eth0");
    await g.sh("ip addr add 198.51.100.77/32 dev eth0");
    await lab.outside.sh(`ip route add 198.51.100.77/32 via ${HOST_UP}`);
    await lab.host.sh(`ip route add 198.51.100.77/32 via ${lease!.ip} dev ${lab.bridge}`);
    expect(await pings(g, OUTSIDE, "192.0.2.250")).toBe(true);
    expect(await pings(g, OUTSIDE, "198.51.100.77")).toBe(false);
  });
});
