// guard = yes against a hostile guarded guest (issue 18, section 1): frames that walked around the guard before
// (priority tags, rogue DHCP servers on other ports, forged DHCP releases, neighbour discovery for the gateway or
// with another MAC, other EtherTypes). Each attack runs once with the guard and once on the same network without
// it, as the control: without the guard it must arrive, with it it must not. What arrives is counted on the
// victim's own eth0 (a netdev ingress counter in its namespace).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ATT,
  counter,
  ether,
  hex,
  ipv4,
  ipv6,
  nsh,
  attachGuests,
  sendFrames,
  udp4,
  until,
  VIC,
} from "../helpers/guard.js";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import type { Netns } from "../helpers/netns.js";

const GW6 = "2001:db8:7::1";
const OTHER = "52:54:00:00:0d:0d"; // a MAC nobody on the network has
const ALL = "ff:ff:ff:ff:ff:ff";
const ALL6 = "33:33:00:00:00:01";
let attLL = ""; // the attacker's own link-local (EUI-64 of ATT)

const icmpEcho = () => {
  const b = Buffer.from("08000000424200010102030405060708", "hex");
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) + b[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  b.writeUInt16BE(~s & 0xffff, 2);
  return b.toString("hex");
};
const ip4hex = (a: string) => Buffer.from(a.split(".").map(Number)).toString("hex");
const ip6hex = (a: string) => {
  const [h, t = ""] = a.split("::");
  const p = (s: string) => (s ? s.split(":").map((x) => x.padStart(4, "0")) : []);
  return [...p(h!), ...Array(8 - p(h!).length - p(t).length).fill("0000"), ...p(t)].join("");
};
// ARP reply "IP is at MAC", to everyone.
const arpClaim = (ip: string, mac: string) => `0001080006040002${hex(mac)}${ip4hex(ip)}ffffffffffff${ip4hex(ip)}`;
// Router advertisement, router lifetime 1800 s.
const ra = () => ipv6(attLL, "ff02::1", 58, `860000004000070800000000${"0".repeat(8)}`, 2);
// Unsolicited neighbour advertisement (override) for TARGET with the target link-layer option MAC.
const na = (src: string, target: string, mac: string) =>
  ipv6(src, "ff02::1", 58, `8800000020000000${ip6hex(target)}0201${hex(mac)}`, 2);
// Neighbour solicitation for TARGET from SRC with the source link-layer option MAC.
const ns = (src: string, target: string, mac: string) =>
  ipv6(src, "ff02::1", 58, `8700000000000000${ip6hex(target)}0101${hex(mac)}`, 2);
// A BOOTP message of OP with CIADDR and CHADDR, and DHCP options OPTS (hex, before the end option).
const bootp = (op: number, ciaddr: string, chaddr: string, opts: string) =>
  `0${op}0106002a2a2a2a00000000${ip4hex(ciaddr)}${"0".repeat(24)}${hex(chaddr)}${"0".repeat(20)}` +
  `${"0".repeat(128 + 256)}63825363${opts}ff`;

describe.each([
  ["guard = yes", true],
  ["control, no guard", false],
])("%s", (_name, guarded) => {
  let lab: Lab;
  let att: Netns;
  let vic: Netns;
  let attIp = "";
  let vicIp = "";
  let gwLL = "";
  // Counted on the victim: WHAT (nft match) from the attacker, after FRAMES were sent; it arrives iff unguarded.
  const attack = async (frames: string[], ...what: string[]) => {
    const got = await Promise.all(
      what.map((w) => counter(vic, w.replace(/^wire: /, ""), w.startsWith("wire: ") ? "wire" : "stack")),
    );
    await sendFrames(att, frames);
    for (const [i, g] of got.entries()) expect([what[i], (await g()) > 0]).toEqual([what[i], !guarded]);
  };

  beforeAll(async () => {
    const extra = `address6 = ${GW6}/64\n${guarded ? "guard = yes\n" : ""}`;
    lab = await makeLab({ section: (br) => natSection(br, extra) });
    [att, vic] = (await attachGuests(lab, [
      ["vm0", ATT],
      ["vm1", VIC],
    ])) as [Netns, Netns];
    attIp = (await lab.dhcp(att))?.ip ?? "";
    vicIp = (await lab.dhcp(vic))?.ip ?? "";
    expect(attIp).toMatch(/^192\.0\.2\.1\d\d$/);
    expect(vicIp).toMatch(/^192\.0\.2\.1\d\d$/);
    // udhcpc's script flushed every address of eth0, link-locals included: give both guests theirs back.
    attLL = "fe80::5054:ff:fe00:bad";
    await nsh(att, `ip -6 addr add ${attLL}/64 dev eth0 nodad`);
    await nsh(vic, "ip -6 addr add fe80::5054:ff:fe00:c0c/64 dev eth0 nodad");
    gwLL = (await nsh(lab.host, `ip -6 -o addr show dev ${lab.bridge} scope link`)).match(/fe80::[0-9a-f:]+/)![0];
  }, 120_000);
  afterAll(async () => await lab?.destroy());

  it("honest guests still talk: IPv4 to the gateway and each other, IPv6 link-local between them", async () => {
    expect(await lab.ping(att, "192.0.2.1")).toBe(true);
    expect(await lab.ping(vic, attIp)).toBe(true);
    // The victim asks for the attacker's link-local; the attacker's advertisement, with its own MAC, passes.
    const r = await nsh(vic, `busybox ping -6 -c 1 -W 3 ${attLL}%eth0 >/dev/null && echo ok || echo no`);
    expect(r).toBe("ok");
  });

  it("priority-tagged frames (802.1Q VID 0, 802.1ad VID 0): a forged IPv4 source, an ARP claim for the gateway, a router advertisement", async () => {
    for (const tag of ["81000000", "88a80000"]) {
      await attack(
        [
          ether(VIC, ATT, `${tag}0800`, ipv4("192.0.2.77", vicIp, 1, icmpEcho())),
          ether(ALL, ATT, `${tag}0806`, arpClaim("192.0.2.1", ATT)),
          ether(ALL6, ATT, `${tag}86dd`, ra()),
        ],
        "ip saddr 192.0.2.77",
        "arp saddr ip 192.0.2.1",
        "icmpv6 type nd-router-advert",
      );
    }
  });

  it("rogue DHCP servers on other ports: an offer from UDP 6767 to 68, a DHCPv6 reply from 5470 to 546", async () => {
    const offer = bootp(2, "0.0.0.0", VIC, `350102${"36" + "04" + ip4hex(attIp)}${"03" + "04" + ip4hex(attIp)}`);
    const reply6 = Buffer.from("07123456", "hex").toString("hex");
    const udp6 = `${(5470).toString(16).padStart(4, "0")}0222${(12).toString(16).padStart(4, "0")}0000${reply6}`;
    await attack(
      [
        ether(ALL, ATT, "0800", ipv4(attIp, "255.255.255.255", 17, udp4(6767, 68, offer))),
        ether(ALL6, ATT, "86dd", ipv6(attLL, "ff02::1", 17, udp6, 6)),
      ],
      "udp dport 68",
      "udp dport 546",
    );
  });

  it("neighbour discovery: advertisements for the gateway's addresses or with another MAC, solicitations from the gateway's address or with another MAC", async () => {
    await attack(
      [
        ether(ALL6, ATT, "86dd", na(attLL, GW6, ATT)),
        ether(ALL6, ATT, "86dd", na(attLL, gwLL, ATT)),
        ether(ALL6, ATT, "86dd", na(attLL, attLL, OTHER)),
        ether(ALL6, ATT, "86dd", ns(GW6, attLL, ATT)),
        ether(ALL6, ATT, "86dd", ns(attLL, GW6, OTHER)),
      ],
      `icmpv6 type nd-neighbor-advert @th,64,128 0x${ip6hex(GW6)}`,
      `icmpv6 type nd-neighbor-advert @th,64,128 0x${ip6hex(gwLL)}`,
      `icmpv6 type nd-neighbor-advert @th,208,48 0x${hex(OTHER)}`,
      `ip6 saddr ${GW6} icmpv6 type nd-neighbor-solicit`,
      `icmpv6 type nd-neighbor-solicit @th,208,48 0x${hex(OTHER)}`,
    );
  });

  it("other EtherTypes: MPLS, PPPoE discovery, 0x9000 loopback, a frame tagged VLAN 10", async () => {
    const pkt = ipv4(attIp, vicIp, 1, icmpEcho());
    await attack(
      [
        ether(VIC, ATT, "8847", `00001140${pkt}`),
        ether(ALL, ATT, "8863", `1109000000000000`),
        ether(VIC, ATT, "9000", `0000${"00".repeat(40)}`),
        ether(VIC, ATT, "8100000a0800", pkt),
      ],
      "wire: ether type 0x8847",
      "wire: ether type 0x8863",
      "wire: ether type 0x9000",
      "wire: vlan id 10",
    );
  });

  // The victim's lease is in dnsmasq's lease file (and with the guard, its pair in the guard's set).
  const leased = () => readFileSync(`${lab.conf.leaseDir}/nat0.leases`, "utf8").includes(`${VIC} ${vicIp} `);
  const releaseFrom = (src: string) =>
    ether(
      ALL,
      ATT,
      "0800",
      ipv4(src, "255.255.255.255", 17, udp4(68, 67, bootp(1, vicIp, VIC, `350107${"3604" + ip4hex("192.0.2.1")}`))),
    );

  it.each([
    ["from 0.0.0.0", () => "0.0.0.0"],
    ["from the attacker's own address", () => attIp],
  ])(
    "a forged DHCPRELEASE %s carrying the victim's MAC and address",
    async (_from, src) => {
      if (!leased()) expect((await lab.dhcp(vic))?.ip).toBe(vicIp);
      expect(leased()).toBe(true);
      await sendFrames(att, [releaseFrom(src())]);
      // Without the guard dnsmasq drops the lease within moments; with it, the release never reaches dnsmasq.
      const dropped = await until(async () => !leased(), 8_000);
      expect(dropped).toBe(!guarded);
      if (guarded) {
        expect(await nsh(lab.host, "nft list set bridge kvmnet guard_ips")).toContain(`${VIC} . ${vicIp}`);
        expect(await lab.ping(vic, "192.0.2.1")).toBe(true);
      }
    },
    60_000,
  );
});
