// A network across hosts: its keys (each bad one named at its line), [NET@HOSTNAME] sections, what a member
// becomes, the underlay guard's rules, FRR's fragment, and the VXLAN steps decided from an observation.
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { problems } from "../helpers/problems.js";
import { parseConfig } from "../../src/config/validate.js";
import { renderDnsmasq } from "../../src/render/dnsmasq-conf.js";
import { hostOverrides } from "../../src/config/host-sections.js";
import { validateVxlan } from "../../src/config/vxlan.js";
import { vxlanUpSteps, vxlanDownSteps } from "../../src/decide/vxlan-steps.js";
import { parseFlood, type VxlanObserved } from "../../src/observe/vxlan-state.js";
import { frrEvpnCommands, hasEvpn } from "../../src/render/frr.js";
import { vxlanAlias } from "../../src/render/vxlan-text.js";
import { vxlanGuardComment, vxlanGuardRules } from "../../src/firewall/nft/vxlan-guard.js";
import type { Network } from "../../src/config/types.js";
import type { ConfigProblem } from "../../src/errors.js";

const NAT = `[lab]
mode = nat
bridge = brlab
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.199
vxlan_id = 100
vxlan_dev = lo
vxlan_peers = 203.0.113.1, 203.0.113.2
`;

describe("vxlan keys", () => {
  it("a gateway keeps its mode and address; the MTU is the underlay's less 50", () => {
    const c = parseConfig("f", `${NAT}role = gateway\n`);
    const n = c.networks[0]!;
    expect(n).toMatchObject({ mode: "nat", role: "gateway", address: { address: "192.0.2.1" } });
    expect(n.vxlan).toEqual({ id: 100, dev: "lo", port: 4789, peers: ["203.0.113.1", "203.0.113.2"], evpn: false });
    expect(n.mtu).toBe(65536 - 50);
  });

  it("the gateway's dnsmasq tells the guests the VXLAN MTU: DHCP option 26 and the router advertisements' MTU", () => {
    const c = parseConfig("f", `${NAT}role = gateway\naddress6 = fd00:0:0:1::1/64\n`);
    const conf = renderDnsmasq(c, c.networks[0]!)!.conf;
    expect(conf).toMatch(/^dhcp-option=option:mtu,65486$/m);
    expect(conf).toMatch(/^ra-param=brlab,mtu:65486,/m);
  });

  it("a member is an isolated bridge of the nat network: no address, DHCP or static leases", () => {
    const c = parseConfig("f", `${NAT}role = member\nhost.web = 52:54:00:00:00:01,192.0.2.10\n`);
    const n = c.networks[0]!;
    expect(n).toMatchObject({ mode: "isolated", memberOf: "nat", role: "member", hosts: [] });
    expect(n.address).toBeUndefined();
    expect(n.dhcpRange).toBeUndefined();
  });

  it.each([
    ["vxlan_id = 0\nrole = member", '6: vxlan_id: "0" is not a VNI 1..16777215'],
    ["vxlan_id = 16777216\nrole = member", '6: vxlan_id: "16777216" is not a VNI 1..16777215'],
    ["vxlan_id = 100\nrole = boss", '9: role: "boss" is not gateway or member'],
    ["vxlan_id = 100\nrole = member\nvxlan_port = 70000", '10: vxlan_port: "70000" is not a UDP port 1..65535'],
    [
      "vxlan_id = 100\nrole = member\nvxlan_local = 2001:db8::1",
      "10: vxlan_local: 2001:db8::1 is not of the peers' address family",
    ],
  ])("%s", (lines, want) => {
    const [id, ...rest] = lines.split("\n");
    const text = NAT.replace(/^vxlan_id = 100$/m, id!) + rest.map((l) => `${l}\n`).join("");
    expect(problems(text)).toEqual([want]);
  });

  it("role is required for nat, routed and host-only across hosts; not taken by isolated", () => {
    expect(problems(NAT)).toEqual([
      expect.stringMatching(/^1: role: missing: a nat network across hosts needs role = gateway/),
    ]);
    const iso =
      "[iso]\nmode = isolated\nbridge = briso\nvxlan_id = 7\nvxlan_dev = lo\nvxlan_peers = 203.0.113.9\nrole = member\n";
    expect(problems(iso)).toEqual(["7: role: not used by mode isolated (only by nat, routed, host-only)"]);
  });

  it("peers or evpn, one of them; evpn needs its AS; keys need vxlan_id", () => {
    expect(problems(NAT.replace(/^vxlan_peers.*\n/m, "") + "role = member\n")).toEqual([
      "6: vxlan_id: needs vxlan_peers = the other hosts' underlay addresses, or evpn = yes (peers learned by BGP)",
    ]);
    expect(problems(NAT.replace(/^vxlan_peers.*\n/m, "evpn = yes\n") + "role = member\n")).toEqual([
      "8: evpn: needs evpn_asn = the AS number of this host's FRR (its router bgp)",
    ]);
    expect(problems("[n]\nmode = isolated\nbridge = b\nvxlan_dev = eth0\n")).toEqual([
      "4: vxlan_dev: needs vxlan_id (the network's VNI)",
    ]);
    expect(problems(NAT.replace("203.0.113.2", "203.0.113.2, 2001:db8::2") + "role = member\n")).toEqual([
      "8: vxlan_peers: mixes IPv4 and IPv6: one VXLAN runs over one address family",
    ]);
  });

  it("an mtu that does not fit over the underlay is refused; over IPv6 the overhead is 70", () => {
    const bad: ConfigProblem[] = [];
    const push = (key: string, message: string) => bad.push({ file: "f", line: 0, key, message });
    const v = { vxlan_id: "5", vxlan_dev: "eth0", vxlan_peers: "2001:db8::1", mtu: "1450" };
    validateVxlan("isolated", v, push, () => 1500);
    expect(bad.map((b) => b.message)).toEqual([
      "1450 does not fit over eth0 (MTU 1500) with VXLAN's 70 bytes: at most 1430",
    ]);
    expect(validateVxlan("isolated", { ...v, mtu: undefined } as never, push, () => 9000).mtu).toBe(8930);
  });

  it("two networks with one VNI are refused", () => {
    const iso = (n: string, br: string) =>
      `[${n}]\nmode = isolated\nbridge = ${br}\nvxlan_id = 7\nvxlan_dev = lo\nvxlan_peers = 203.0.113.9\n`;
    expect(problems(iso("a", "bra") + iso("b", "brb"))).toEqual([
      "10: vxlan_id: VNI 7 is already that of [a] (line 4)",
    ]);
  });
});

describe("[NET@HOSTNAME] sections", () => {
  const sections = new Map([
    ["lab", 1],
    ["lab@gw1", 20],
    ["lab@m2", 30],
    ["nope@gw1", 40],
  ]);
  const values: Record<string, Record<string, string>> = {
    lab: {},
    "lab@gw1": { role: "gateway", vxlan_local: "203.0.113.1" },
    "lab@m2": { mode: "nat" },
    "nope@gw1": {},
  };
  const lines = (s: string) => Object.fromEntries(Object.keys(values[s]!).map((k, i) => [k, sections.get(s)! + 1 + i]));

  it("this host's section applies (by full name or its first label); others are checked, not applied", () => {
    const out: ConfigProblem[] = [];
    const o = hostOverrides("f", sections, (s) => values[s]!, lines, out, "gw1.example.org");
    expect(o.get("lab")).toEqual({ values: values["lab@gw1"], lines: { role: 21, vxlan_local: 22 } });
    expect(out.map((p) => `${p.line}: ${p.key}: ${p.message}`)).toEqual([
      "31: mode: not a per-host key (a [NET@HOSTNAME] section may set role, vxlan_dev, vxlan_local)",
      '40: [nope@gw1]: overrides for network "nope" on host "gw1", but there is no section [nope]',
    ]);
  });

  it("the same file makes a gateway on one host and a member elsewhere, errors at the override's line", () => {
    const text = `${NAT}role = member\n\n[lab@gw1]\nrole = gateway\n`;
    expect(parseConfig("f", text).networks[0]!.mode).toBe("isolated");
    // parseConfig reads this host's name: a section for it applies.
    const mine = `${NAT}role = member\n\n[lab@${hostname()}]\nrole = gateway\n`;
    expect(parseConfig("f", mine).networks[0]!.mode).toBe("nat");
    expect(problems(`${NAT}role = member\n\n[lab@${hostname()}]\nrole = chief\n`)).toEqual([
      '12: role: "chief" is not gateway or member',
    ]);
  });
});

const net = (extra: Partial<Network> = {}) =>
  ({
    name: "lab",
    mode: "isolated",
    bridge: "brlab",
    mtu: 1450,
    vxlan: { id: 100, dev: "u0", port: 4789, peers: ["203.0.113.1", "203.0.113.2", "203.0.113.3"], evpn: false },
    ...extra,
  }) as Network;
const link = (master: string | null) => ({
  name: "vx100",
  isBridge: false,
  master,
  mtu: 1450,
  up: true,
  mac: "",
  ports: [],
});
const own = ["203.0.113.2"];

describe("vxlan steps", () => {
  it("made whole on a cold host: device, flood entries to the others, alias with the peers, guard", () => {
    const obs: VxlanObserved = { link: null, alias: "", underlay: null, underlayAddrs: own, flood: null };
    const steps = vxlanUpSteps(net(), obs);
    expect(steps.map((s) => s.kind)).toEqual(["ip", "bridge", "ip", "nft"]);
    expect(steps[0]).toEqual({
      kind: "ip",
      lines: [
        "link add name vx100 mtu 1450 type vxlan id 100 dstport 4789 local 203.0.113.2 dev u0",
        "link set dev vx100 alias kvmnet:lab,vni=100,port=4789,dev=u0,local=203.0.113.2,static",
        "link set dev vx100 master brlab",
        "link set dev vx100 up",
      ],
    });
    expect(steps[1]).toEqual({
      kind: "bridge",
      lines: [
        "fdb append 00:00:00:00:00:00 dev vx100 dst 203.0.113.1",
        "fdb append 00:00:00:00:00:00 dev vx100 dst 203.0.113.3",
      ],
    });
  });

  it("warm (alias current, nothing else looked at): no step", () => {
    const alias = vxlanAlias(net(), net().vxlan!, ["203.0.113.1", "203.0.113.3"], "203.0.113.2");
    const obs: VxlanObserved = { link: link("brlab"), alias, underlay: null, underlayAddrs: own, flood: null };
    expect(vxlanUpSteps(net(), obs)).toEqual([]);
  });

  it("a new peer: one flood entry appended, a gone one deleted, the alias updated; the device is kept", () => {
    const old = vxlanAlias(net(), net().vxlan!, ["203.0.113.1", "203.0.113.9"], "203.0.113.2");
    const rules = vxlanGuardRules(net().vxlan!, ["203.0.113.1", "203.0.113.9"]);
    const obs: VxlanObserved = {
      link: link("brlab"),
      alias: old,
      underlay: null,
      underlayAddrs: own,
      flood: ["203.0.113.1", "203.0.113.9"],
      guard: vxlanGuardComment(net(), rules),
    };
    const steps = vxlanUpSteps(net(), obs);
    expect(steps.map((s) => s.kind)).toEqual(["bridge", "ip", "nft"]);
    expect(steps[0]).toEqual({
      kind: "bridge",
      lines: [
        "fdb append 00:00:00:00:00:00 dev vx100 dst 203.0.113.3",
        "fdb del 00:00:00:00:00:00 dev vx100 dst 203.0.113.9",
      ],
    });
  });

  it("a device of that name kvmnet did not make is left alone; teardown removes only kvmnet's", () => {
    const obs: VxlanObserved = { link: link("br0"), alias: "admin's", underlay: null, underlayAddrs: own, flood: [] };
    expect(vxlanUpSteps(net(), obs)).toEqual([]);
    expect(vxlanDownSteps(net(), obs).map((s) => s.kind)).toEqual(["nft"]);
    expect(vxlanDownSteps(net(), { ...obs, alias: "kvmnet:lab,vni=100" })[0]).toEqual({
      kind: "ip",
      lines: ["link delete dev vx100"],
    });
  });

  it("evpn: no learning, no flood entries, FRR told when its running config lacks advertise-all-vni", () => {
    const n = net({ vxlan: { id: 100, dev: "u0", port: 4789, peers: [], evpn: true, asn: 65000 } });
    const obs: VxlanObserved = { link: null, alias: "", underlay: null, underlayAddrs: own, flood: null, frr: "" };
    const steps = vxlanUpSteps(n, obs);
    expect(steps.map((s) => s.kind)).toEqual(["ip", "ip", "nft", "vtysh"]);
    expect((steps[0] as { lines: string[] }).lines).toContain("link set dev vx100 type bridge_slave learning off");
    expect((steps[0] as { lines: string[] }).lines[0]).toMatch(/ nolearning$/);
    expect(steps[3]).toEqual({ kind: "vtysh", commands: frrEvpnCommands(65000) });
  });
});

describe("FRR and the guard", () => {
  it("hasEvpn finds advertise-all-vni in router bgp ASN's l2vpn evpn family only", () => {
    const running = `frr version 8.4.4
router bgp 65000
 neighbor 203.0.113.1 remote-as 65000
 !
 address-family l2vpn evpn
  neighbor 203.0.113.1 activate
  advertise-all-vni
 exit-address-family
exit
!
`;
    expect(hasEvpn(running, 65000)).toBe(true);
    expect(hasEvpn(running, 65001)).toBe(false);
    expect(hasEvpn(running.replace("  advertise-all-vni\n", ""), 65000)).toBe(false);
    expect(hasEvpn(null, 65000)).toBe(false);
  });

  it("the guard lets the VNI in from the peers over the underlay only", () => {
    expect(vxlanGuardRules(net().vxlan!, ["203.0.113.1", "203.0.113.3"])).toEqual([
      'iifname "u0" ip saddr { 203.0.113.1, 203.0.113.3 } udp dport 4789 @th,96,24 0x64 accept',
      "udp dport 4789 @th,96,24 0x64 drop",
    ]);
  });

  it("bridge fdb show: the all-zeros entries' destinations", () => {
    const text = `00:00:00:00:00:00 dst 203.0.113.1 self permanent
52:54:00:12:34:56 dst 203.0.113.3 self
00:00:00:00:00:00 dst 203.0.113.3 self permanent
`;
    expect(parseFlood(text)).toEqual(["203.0.113.1", "203.0.113.3"]);
  });
});
