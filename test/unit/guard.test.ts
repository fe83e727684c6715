// The guard's decisions (src/decide/guard-steps.ts), from observations given as data: its record kept by the hooks,
// and, converging to up, the table rebuilt from the records when anything of it is missing or outdated.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { guardAttachSteps, guardDetachSteps, guardUpSteps } from "../../src/decide/guard-steps.js";
import { dnsmasqLeasePairs, type GuardObserved, type GuardTable } from "../../src/observe/guard-state.js";
import type { Link } from "../../src/observe/links.js";
import { guardChain, guardRules, guardStamp, GUARD_DISPATCH } from "../../src/firewall/nft/guard.js";

const config = parseConfig(
  "/x",
  "[global]\nstate_dir = /run/k\n[n]\nmode = nat\nbridge = kv0\naddress = 192.0.2.1/24\n" +
    "dhcp_range = 192.0.2.100,192.0.2.200\naddress6 = 2001:db8:7::1/64\nguard = yes\nhost.web = 52:54:00:00:00:03,192.0.2.10\n",
);
const net = config.networks[0]!;
const A = "52:54:00:00:00:01";
const B = "52:54:00:00:00:03";
const link = (name: string, master: string | null = "kv0"): Link => ({
  name,
  isBridge: false,
  master,
  mtu: 1500,
  up: true,
  mac: "fe:00:00:00:00:01",
  ports: [],
});
// The chain as kvmnet writes it (nft's rewording of the other rules does not matter: the count and stamp do).
const chain = (mac: string) =>
  guardRules(net, mac, "h1").map((r, i) => (i ? r : `${r} comment "${guardStamp(net, mac, "h1")}"`));
const table = (over: Partial<GuardTable> = {}): GuardTable => ({
  chains: { prerouting: [GUARD_DISPATCH], [guardChain("vm0")]: chain(A), [guardChain("vm1")]: chain(B) },
  map: { vm0: guardChain("vm0"), vm1: guardChain("vm1") },
  ips: new Set([`${A} . 192.0.2.100`, `${B} . 192.0.2.10`]),
  ...over,
});
const obs = (over: Partial<GuardObserved> = {}): GuardObserved => ({
  taps: [
    { tap: "vm0", mac: A, link: link("vm0") },
    { tap: "vm1", mac: B, link: link("vm1") },
  ],
  leases: [{ mac: A, ip: "192.0.2.100" }],
  table: table(),
  hostName: "h1",
  ...over,
});
const nftScripts = (steps: ReturnType<typeof guardUpSteps>) =>
  steps.flatMap((s) => (s.kind === "nft" ? [s.script] : []));

describe("the guard's rules", () => {
  it("drop every EtherType but IPv4, ARP and IPv6 right after the MAC, and the gateway's IPv6 addresses", () => {
    const rules = guardRules(net, A, "h1");
    expect(rules.slice(0, 2)).toEqual([`ether saddr != ${A} drop`, "ether type != { ip, arp, ip6 } drop"]);
    expect(rules).toContain("udp dport 67 @ih,224,48 != 0x525400000001 drop");
    expect(rules).toContain("icmpv6 type nd-neighbor-advert @th,192,64 != 0x0201525400000001 drop");
    // address6, and the link-local (EUI-64) of the bridge's fixed MAC.
    expect(rules.at(-1)).toMatch(/^ether type ip6 ip6 saddr \{ 2001:db8:7::1, fe80::[0-9a-f:]+ \} drop$/);
  });
});

describe("converging to up", () => {
  it("changes nothing when the table, chains, map elements and pairs are in place", () => {
    expect(guardUpSteps(config, net, obs())).toEqual([]);
  });

  it.each([
    ["no table (nft flush ruleset)", { table: null }],
    ["an emptied chain", { table: table({ chains: { ...table().chains, [guardChain("vm0")]: [] } }) }],
    ["no dispatch rule", { table: table({ chains: { ...table().chains, prerouting: [] } }) }],
    ["a lost map element", { table: table({ map: { vm1: guardChain("vm1") } }) }],
    ["a lost learned pair", { table: table({ ips: new Set([`${B} . 192.0.2.10`]) }) }],
    [
      "a chain of another version",
      { table: table({ chains: { ...table().chains, [guardChain("vm1")]: guardRules(net, B, "h1") } }) },
    ],
  ])("rebuilds every recorded tap's guard with its static and leased pairs: %s", (_why, over) => {
    const scripts = nftScripts(guardUpSteps(config, net, obs(over as Partial<GuardObserved>)));
    expect(scripts).toHaveLength(1);
    for (const want of [
      `add rule bridge kvmnet guard-vm0 ether saddr != ${A} drop comment "${guardStamp(net, A, "h1")}"`,
      'add element bridge kvmnet guard_iif { "vm1" : jump guard-vm1 }',
      `add element bridge kvmnet guard_ips { ${A} . 192.0.2.100 }`,
      `add element bridge kvmnet guard_ips { ${B} . 192.0.2.10 }`,
    ])
      expect(scripts[0]).toContain(want);
  });

  it("drops a tap that is gone from the record and removes its chain; one now on another bridge is left alone", () => {
    const steps = guardUpSteps(
      config,
      net,
      obs({
        taps: [
          { tap: "vm0", mac: A, link: null },
          { tap: "vm1", mac: B, link: link("vm1", "otherbr") },
        ],
      }),
    );
    expect(nftScripts(steps)).toEqual([expect.stringContaining("delete chain bridge kvmnet guard-vm0")]);
    expect(steps.at(-1)).toEqual({ kind: "write", path: "/run/k/n.guard-taps", content: "" });
  });

  it("takes into the record a guarded tap of the bridge that a kvmnet without records guarded, and rewrites its chain", () => {
    const old = [`ether saddr != ${A} drop`, "udp sport { 67, 547 } drop"];
    const o = obs({
      taps: [],
      leases: [],
      table: table({ chains: { prerouting: [GUARD_DISPATCH], [guardChain("vm0")]: old }, map: { vm0: "guard-vm0" } }),
      unrecorded: [{ tap: "vm0", mac: A, link: link("vm0") }],
    });
    const steps = guardUpSteps(config, net, o);
    expect(nftScripts(steps)[0]).toContain(`comment "${guardStamp(net, A, "h1")}"`);
    expect(steps.at(-1)).toEqual({ kind: "write", path: "/run/k/n.guard-taps", content: `vm0 ${A}\n` });
  });
});

describe("a hook", () => {
  it("guards its tap and records it once: the same attach again writes no record", () => {
    const first = guardAttachSteps(config, net, obs({ taps: [], table: undefined }), "vm0", A);
    expect(first.map((s) => s.kind)).toEqual(["nft", "write"]);
    expect(first[1]).toMatchObject({ content: `vm0 ${A}\n` });
    const again = guardAttachSteps(config, net, obs({ taps: [{ tap: "vm0", mac: A, link: link("vm0") }] }), "vm0", A);
    expect(again.map((s) => s.kind)).toEqual(["nft"]);
    // Its static and leased pairs go in with its chain.
    expect(nftScripts(first)[0]).toContain(`add element bridge kvmnet guard_ips { ${A} . 192.0.2.100 }`);
  });

  it("unguards its tap and takes it out of the record as it leaves", () => {
    const steps = guardDetachSteps(config, net, obs(), "vm0");
    expect(nftScripts(steps)[0]).toContain("delete chain bridge kvmnet guard-vm0");
    expect(steps.at(-1)).toMatchObject({ kind: "write", content: `vm1 ${B}\n` });
  });
});

describe("dnsmasq's lease file", () => {
  it("gives the IPv4 leases' MAC . IP pairs; DHCPv6 leases and the duid line are skipped", () => {
    const text = [
      "1765000000 52:54:00:00:00:01 192.0.2.100 vm0 01:52:54:00:00:00:01",
      "duid 00:01:00:01:2c:00:00:00:02:6b:76:00:00:01",
      "1765000000 1234567 2001:db8:7::100 vm0 00:01:00:01:aa",
      "1765000000 52:54:00:00:00:03 192.0.2.10 web *",
    ].join("\n");
    expect(dnsmasqLeasePairs(text)).toEqual([
      { mac: A, ip: "192.0.2.100" },
      { mac: B, ip: "192.0.2.10" },
    ]);
  });
});
