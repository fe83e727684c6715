// mode = isolated through qemu-ifup-isolated, in real namespaces with both firewall backends: guests reach
// each other and nothing else, even with the host forwarding and routing their subnet for someone else.
import { afterEach, describe, expect, it } from "vitest";
import { dropRules, HOST_UP, makeLab, nsState, OUTSIDE, pings, type Lab, expectTwiceNoChange } from "./models-lab.js";

const section = (br: string, extra = "") => `[iso]\nmode = isolated\nbridge = ${br}\n${extra}`;

describe.each(["nftables", "iptables"] as const)("isolated with %s", (firewall) => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("twice changes nothing the second time; the bridge has no host address and no IPv6", async () => {
    lab = await makeLab({ firewall, body: (br) => section(br) });
    await lab.addGuest("vm0");
    await expectTwiceNoChange(lab, "qemu-ifup-isolated", "vm0", /link add name/);
    const h = lab.host;
    expect(await h.sh(`ip -o link show vm0`)).toMatch(new RegExp(`master ${lab.bridge} `));
    expect(await h.sh(`ip -4 -o addr show dev ${lab.bridge}`)).toBe("");
    expect(await h.sh(`ip -6 -o addr show dev ${lab.bridge}`)).toBe("");
    expect(await h.sh(`cat /proc/sys/net/ipv6/conf/${lab.bridge}/disable_ipv6`)).toBe("1");
    // An isolated network turns nothing on: forwarding stays as it was.
    expect(await h.sh("cat /proc/sys/net/ipv4/ip_forward")).toBe("0");
  });

  it("guests reach each other but not the host or the outside, though the host forwards and routes", async () => {
    lab = await makeLab({ firewall, body: (br) => section(br) });
    const g1 = await lab.addGuest("vm1", "192.0.2.11/24");
    const g2 = await lab.addGuest("vm2", "192.0.2.12/24");
    expect((await lab.hook("qemu-ifup-isolated", "vm1")).code).toBe(0);
    expect((await lab.hook("qemu-ifup-isolated", "vm2")).code).toBe(0);
    const h = lab.host;
    // br_netfilter is on here (bridge-nf-call-iptables = 1 in every namespace): guest-to-guest frames pass the
    // IPv4 forward hook too.
    expect(await h.sh("cat /proc/sys/net/bridge/bridge-nf-call-iptables")).toBe("1");
    expect(await pings(g1, "192.0.2.12")).toBe(true);
    expect(await pings(g2, "192.0.2.11")).toBe(true);

    // The worst case: another network turned forwarding on, the host routes the guests' subnet onto the
    // bridge, the outside routes it back to the host, and a guest uses the bridge's MAC as its gateway.
    await h.sh(`echo 1 > /proc/sys/net/ipv4/ip_forward; ip route add 192.0.2.0/24 dev ${lab.bridge}`);
    await lab.outside.sh(`ip route add 192.0.2.0/24 via ${HOST_UP}`);
    const mac = await h.sh(`cat /sys/class/net/${lab.bridge}/address`);
    await g1.sh(
      `ip neigh replace 192.0.2.254 lladdr ${mac} dev eth0 nud permanent; ip route add default via 192.0.2.254`,
    );
    await lab.outside.sh(
      `ip neigh replace 192.0.2.11 lladdr ${await g1.sh("cat /sys/class/net/eth0/address")} dev eth0 nud permanent || true`,
    );
    expect(await pings(g1, OUTSIDE)).toBe(false);
    expect(await pings(g1, HOST_UP)).toBe(false);
    expect(await pings(lab.outside, "192.0.2.11")).toBe(false);
    expect(await pings(g1, "192.0.2.12")).toBe(true);

    // Control: without kvmnet's rules the same set-up gets through, so it is the rules that block.
    await dropRules(h, firewall, "iso");
    expect(await pings(g1, OUTSIDE)).toBe(true);
    expect(await pings(g1, HOST_UP)).toBe(true);
  });

  it("qemu-ifdown detaches; with teardown = when-idle the last one removes bridge and rules", async () => {
    lab = await makeLab({ firewall, body: (br) => section(br, "teardown = when-idle\n") });
    await lab.addGuest("vm1");
    await lab.addGuest("vm2");
    const before = await nsState(lab.host, undefined, false);
    expect((await lab.hook("qemu-ifup-isolated", "vm1")).code).toBe(0);
    expect((await lab.hook("qemu-ifup-isolated", "vm2")).code).toBe(0);
    expect((await lab.hook("qemu-ifdown", "vm1")).code).toBe(0);
    expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toBe("vm2");
    expect((await lab.hook("qemu-ifdown", "vm2")).code).toBe(0);
    expect(await nsState(lab.host, undefined, false)).toBe(before);
  });
});
