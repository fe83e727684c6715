// mode = host-only through qemu-ifup-isolated, in real namespaces with both firewall backends: guests get a
// lease with no router, reach the host and each other, and nothing beyond, while a NAT network on the same
// host has turned forwarding on.
import { afterEach, describe, expect, it } from "vitest";
import { dropRules, HOST_UP, makeLab, OUTSIDE, pings, type Lab, expectTwiceNoChange } from "./models-lab.js";

const body = (br: string) => `[ho]
mode = host-only
bridge = ${br}
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.150

[nat0]
mode = nat
bridge = ${br}n
address = 198.51.100.1/24
uplink = up0
`;

describe.each(["nftables", "iptables"] as const)("host-only with %s", (firewall) => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("twice changes nothing the second time; one dnsmasq; no IPv6 on the bridge; forwarding left alone", async () => {
    lab = await makeLab({ firewall, body });
    await lab.addGuest("vm0");
    await expectTwiceNoChange(lab, "qemu-ifup-isolated", "vm0", /dnsmasq --conf-file=/);
    const h = lab.host;
    expect(await h.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toMatch(/inet 192\.0\.2\.1\/24/);
    expect(await h.sh(`cat /proc/sys/net/ipv6/conf/${lab.bridge}/disable_ipv6`)).toBe("1");
    expect(await h.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("0");
  });

  it("guests get a lease without a router, reach the host and each other, and nothing beyond", async () => {
    lab = await makeLab({ firewall, body });
    const g1 = await lab.addGuest("vm1");
    const g2 = await lab.addGuest("vm2");
    const n = await lab.addGuest("vm9", "198.51.100.9/24");
    // The NAT network's guest comes up first, so forwarding is on before the host-only network exists.
    expect((await lab.hook("qemu-natup", "vm9")).code).toBe(0);
    expect(await lab.host.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("1");
    await n.sh("ip route add default via 198.51.100.1");
    expect((await lab.hook("qemu-ifup-isolated", "vm1")).code).toBe(0);
    expect((await lab.hook("qemu-ifup-isolated", "vm2")).code).toBe(0);
    const l1 = await lab.dhcp(g1);
    const l2 = await lab.dhcp(g2);
    expect(l1?.ip).toMatch(/^192\.0\.2\.1([0-4]\d|50)$/);
    expect(l1?.router).toBe("");
    expect(l1?.dns).toBe("192.0.2.1");
    expect(await g1.sh("ip route")).not.toMatch(/default/);
    expect(await pings(g1, "192.0.2.1")).toBe(true);
    expect(await pings(g1, l2!.ip)).toBe(true);
    expect(await pings(n, OUTSIDE)).toBe(true);

    // A guest that makes the host its gateway anyway, and an outside that routes the subnet to the host.
    await g1.sh("ip route add default via 192.0.2.1");
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
    expect(await pings(g1, OUTSIDE)).toBe(false);
    expect(await pings(lab.outside, l1!.ip)).toBe(false);
    // The host itself is reachable on any of its addresses: that is the host.
    expect(await pings(g1, HOST_UP)).toBe(true);

    // Control: without kvmnet's host-only rules the same set-up gets through.
    await dropRules(lab.host, firewall, "ho");
    expect(await pings(g1, OUTSIDE)).toBe(true);
    expect(await pings(lab.outside, l1!.ip)).toBe(true);
  });
});
