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
  afterEach(() => lab?.destroy());

  it("twice changes nothing the second time; forwarding on, no NAT rule anywhere", () => {
    lab = makeLab({ firewall, body, side: true });
    lab.addGuest("vm0");
    expectTwiceNoChange(lab, "qemu-ifup", "vm0", /ip_forward/);
    expect(lab.host.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("1");
    expect(lab.host.sh("nft list ruleset")).not.toMatch(/masquerade|snat|nat hook/);
    // A routed bridge keeps IPv6 as the host configures it (only isolated and host-only turn it off).
    expect(lab.host.sh(`cat /proc/sys/net/ipv6/conf/${lab.bridge}/disable_ipv6`)).toBe("0");
  });

  it("the outside sees the guest's own address and reaches it; the other interface does neither", async () => {
    lab = makeLab({ firewall, body, side: true });
    const g = lab.addGuest("vm0");
    lab.addGuest("vm1", "192.0.2.12/24");
    expect(lab.hook("qemu-ifup", "vm0").code).toBe(0);
    expect(lab.hook("qemu-ifup", "vm1").code).toBe(0);
    const lease = lab.dhcp(g);
    expect(lease?.ip).toMatch(/^192\.0\.2\.1([0-4]\d|50)$/);
    expect(lease?.router).toBe("192.0.2.1");
    expect(pings(g, "192.0.2.12")).toBe(true);
    // Routed: the outside needs a return route to the guests' subnet (the seed says so too).
    lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
    lab.side!.sh(`ip route add 192.0.2.0/24 via ${HOST_SIDE}`);
    expect(pings(g, OUTSIDE)).toBe(true);
    expect(pings(lab.outside, lease!.ip)).toBe(true);
    const stop = await startEchoAddress(lab.outside);
    try {
      expect(seenAs(g, OUTSIDE)).toBe(lease!.ip);
    } finally {
      stop();
    }
    // uplink = up0: nothing is forwarded between the guests and any other interface, either way.
    expect(pings(g, SIDE)).toBe(false);
    expect(pings(lab.side!, lease!.ip)).toBe(false);
    // A guest sending from an address outside its subnet is not forwarded (no spoofing through the host).
    g.sh("ip addr add 192.0.2.250/32 dev eth0");
    g.sh("ip addr add 198.51.100.77/32 dev eth0");
    lab.outside.sh(`ip route add 198.51.100.77/32 via ${HOST_UP}`);
    lab.host.sh(`ip route add 198.51.100.77/32 via ${lease!.ip} dev ${lab.bridge}`);
    expect(pings(g, OUTSIDE, "192.0.2.250")).toBe(true);
    expect(pings(g, OUTSIDE, "198.51.100.77")).toBe(false);
  });
});
