// Golden files of what kvmnet renders and plans for the models other than NAT: the firewall rules of
// isolated, host-only and routed networks for both backends, dnsmasq for host-only, and the uplink move.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import type { Network } from "../../src/config/types.js";
import { addrSpec, journalRoutes, planUplinkBridge, routeSpec } from "../../src/decide/uplink-plan.js";
import { vlanUpLines } from "../../src/decide/vlan.js";
import { parseAddrs, parseRoutes, type UplinkState } from "../../src/observe/uplink-state.js";
import { renderDnsmasq } from "../../src/render/dnsmasq-conf.js";
import { iptablesUpScript } from "../../src/firewall/iptables/diff.js";
import { renderIptables } from "../../src/firewall/iptables/render.js";
import { renderNft } from "../../src/firewall/nft/render.js";
import { nftTableView } from "../../src/firewall/nft/script.js";
import { forwardPolicy } from "../../src/render/policy.js";

const config = parseConfig(
  "/etc/kvmnet.conf",
  `
[global]
state_dir = /run/kvmnet
lease_dir = /var/lib/kvmnet
[iso]
mode = isolated
bridge = kviso
[ho]
mode = host-only
bridge = kvho
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.150
[rt]
mode = routed
bridge = kvrt
address = 198.51.100.1/24
uplink = eth0
[rtany]
mode = routed
bridge = kvrtany
address = 203.0.113.1/24
[lan]
mode = bridge
bridge = br0
uplink = eth0
[vlan10]
mode = bridge
bridge = brvlan10
vlan = 10
trunk = eth1
mtu = 1400
`,
);
const net = (name: string) => config.networks.find((n) => n.name === name)!;
const golden = (name: string) => `../golden/models/${name}`;
// On a host with none of kvmnet's chains: what one network's first up loads.
const iptablesAll = (n: Network) => iptablesUpScript(n, renderIptables(n)!, {});
const renderNftTable = (n: Network) => {
  const w = renderNft(n);
  return w && nftTableView(w);
};

describe("firewall rules per mode and backend", () => {
  it.each(["iso", "ho", "rt", "rtany"])("%s: nft table and iptables chains", async (name) => {
    await expect(renderNftTable(net(name))).toMatchFileSnapshot(golden(`${name}.nft`));
    await expect(iptablesAll(net(name))).toMatchFileSnapshot(golden(`${name}.iptables`));
  });

  it("isolated drops all input from its bridge; host-only lets DHCP/DNS in; neither forwards beyond", () => {
    const iso = forwardPolicy(net("iso"))!;
    expect(iso.input).toEqual([{ iif: "kviso", verdict: "drop" }]);
    const ho = forwardPolicy(net("ho"))!;
    for (const p of [iso, ho]) {
      // Guest to guest first (br_netfilter sends it through the forward hook), then everything else refused.
      expect(p.forward).toEqual([
        { iif: p === iso ? "kviso" : "kvho", oif: p === iso ? "kviso" : "kvho", verdict: "accept" },
        { iif: p === iso ? "kviso" : "kvho", verdict: "reject" },
        { oif: p === iso ? "kviso" : "kvho", verdict: "reject" },
      ]);
      expect(p.nat).toBeUndefined();
    }
  });

  it("routed: no NAT, inbound not limited to replies, and only through the uplink when one is set", () => {
    const p = forwardPolicy(net("rt"))!;
    expect(p.nat).toBeUndefined();
    expect(p.forward).toContainEqual({ iif: "eth0", oif: "kvrt", daddr: "198.51.100.0/24", verdict: "accept" });
    expect(p.forward).toContainEqual({ iif: "kvrt", oif: "eth0", saddr: "198.51.100.0/24", verdict: "accept" });
  });

  it("bridge mode needs no rules", () => {
    expect(forwardPolicy(net("lan"))).toBeNull();
    expect(renderNftTable(net("vlan10"))).toBeNull();
  });

  // The rest of dnsmasq's config is NAT's and has its own golden file; here only what host-only changes.
  it("host-only dnsmasq hands out an empty router option; a routed one its own address", () => {
    expect(renderDnsmasq(config, net("ho"))!.conf.split("\n")).toContain("dhcp-option=option:router");
    const routed = parseConfig(
      "f",
      "[r]\nmode = routed\nbridge = b\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.10,192.0.2.20\n",
    );
    expect(renderDnsmasq(routed, routed.networks[0]!)!.conf).not.toMatch(/option:router/);
  });
});

// `ip -json` output as iproute2 6.1 prints it for an uplink with two IPv4 addresses, a static IPv6 address,
// a SLAAC one, a default route, a static route in another table, and the kernel's own routes.
const ADDR_JSON = JSON.stringify([
  {
    ifname: "eth0",
    mtu: 1500,
    address: "52:54:00:12:34:56",
    addr_info: [
      {
        family: "inet",
        local: "203.0.113.5",
        prefixlen: 24,
        broadcast: "203.0.113.255",
        scope: "global",
        label: "eth0",
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: "inet",
        local: "203.0.113.6",
        prefixlen: 24,
        broadcast: "203.0.113.255",
        scope: "global",
        secondary: true,
        label: "eth0:1",
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: "inet6",
        local: "2001:db8::5",
        prefixlen: 64,
        scope: "global",
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: "inet6",
        local: "2001:db8::5054:ff:fe12:3456",
        prefixlen: 64,
        scope: "global",
        dynamic: true,
        mngtmpaddr: true,
        valid_life_time: 86400,
        preferred_life_time: 14400,
      },
      {
        family: "inet6",
        local: "fe80::5054:ff:fe12:3456",
        prefixlen: 64,
        scope: "link",
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
]);
const ROUTE4_JSON = JSON.stringify([
  { dst: "default", gateway: "203.0.113.254", protocol: "dhcp", prefsrc: "203.0.113.5", metric: 100, flags: [] },
  { dst: "198.51.100.0/24", gateway: "203.0.113.253", table: "42", protocol: "static", flags: ["onlink"] },
  { dst: "203.0.113.0/24", protocol: "kernel", scope: "link", prefsrc: "203.0.113.5", flags: [] },
  {
    type: "local",
    dst: "203.0.113.5",
    table: "local",
    protocol: "kernel",
    scope: "host",
    prefsrc: "203.0.113.5",
    flags: [],
  },
  {
    type: "broadcast",
    dst: "203.0.113.255",
    table: "local",
    protocol: "kernel",
    scope: "link",
    prefsrc: "203.0.113.5",
    flags: [],
  },
]);
const ROUTE6_JSON = JSON.stringify([
  { dst: "2001:db8::/64", protocol: "kernel", metric: 256, flags: [], pref: "medium" },
  { dst: "2001:db8:1::/48", gateway: "2001:db8::1", metric: 1024, flags: [], pref: "medium" },
  { dst: "default", gateway: "fe80::1", protocol: "ra", metric: 1024, flags: [], pref: "medium" },
  { dst: "fe80::/64", protocol: "kernel", metric: 256, flags: [], pref: "medium" },
  { type: "multicast", dst: "ff00::/8", table: "local", protocol: "kernel", metric: 256, flags: [], pref: "medium" },
]);

describe("bridge over an uplink", () => {
  const uplink: UplinkState = {
    link: { name: "eth0", isBridge: false, master: null, mtu: 1500, up: true, mac: "52:54:00:12:34:56", ports: [] },
    addrs: parseAddrs(ADDR_JSON),
    routes: [...parseRoutes(ROUTE4_JSON, "inet"), ...parseRoutes(ROUTE6_JSON, "inet6")],
  };

  it("moves what the kernel does not remake by itself: no link-local, SLAAC, kernel, local or RA entries", () => {
    expect(uplink.addrs.map((a) => a.local)).toEqual(["203.0.113.5", "203.0.113.6", "2001:db8::5"]);
    expect(uplink.routes.map((r) => r.dst)).toEqual(["default", "198.51.100.0/24", "2001:db8:1::/48"]);
  });

  it("plans one forward batch and its undo (golden)", async () => {
    const plan = planUplinkBridge(net("lan"), uplink);
    await expect(plan.lines.join("\n") + "\n").toMatchFileSnapshot(golden("uplink.batch"));
    await expect(plan.rollback.join("\n") + "\n").toMatchFileSnapshot(golden("uplink.rollback"));
  });

  // What each cut point of the batch leaves, as the next run sees the two devices: the rest of the move, and the
  // same whole undo (both devices' addresses and routes back on the NIC).
  const full = planUplinkBridge(net("lan"), uplink);
  const bridgeLink = { ...uplink.link, name: "br0", isBridge: true, ports: ["eth0"] };
  const cut = (done: number) => {
    const ran = full.lines.slice(0, done);
    const has = (line: string) => ran.includes(line);
    const nic: UplinkState = {
      link: { ...uplink.link, master: has("link set dev eth0 master br0") ? "br0" : null },
      addrs: uplink.addrs.filter((a) => !has(`address del ${a.local}/${a.prefixlen} dev eth0`)),
      routes: uplink.routes.filter((r) => !has(`route del ${routeSpec(r, "eth0")}`)),
    };
    const state: UplinkState = {
      link: bridgeLink,
      // As the kernel shows them there: a label follows the device.
      addrs: uplink.addrs
        .filter((a) => has(`address add ${addrSpec(a, "br0", "eth0")}`))
        .map((a) => (a.label ? { ...a, label: a.label.replace(/^eth0/, "br0") } : a)),
      routes: uplink.routes.filter((r) => has(`route prepend ${routeSpec(r, "br0")}`)),
    };
    return { nic, built: { link: { ...bridgeLink, up: has("link set dev br0 up") }, state } };
  };

  it.each([2, 3, 4, 7, 10, 13, 15, 16])(
    "finishes a move cut off after %i lines with exactly its remaining lines",
    (n) => {
      const { nic, built } = cut(n);
      const plan = planUplinkBridge(net("lan"), nic, built);
      expect(plan.lines).toEqual(full.lines.slice(n));
      expect(plan.rollback).toEqual(full.rollback);
    },
  );

  it("a finished move plans nothing; routes only the journal knows go back on the bridge", () => {
    const { nic, built } = cut(16);
    expect(planUplinkBridge(net("lan"), nic, built).lines).toEqual([]);
    // An older kvmnet took the default route off the NIC before it was on the bridge: only the journal has it.
    const gone = uplink.routes.slice(1);
    const held = [...gone];
    const lost = journalRoutes(full.rollback.join("\n") + "\n", "eth0", "br0", held);
    expect(lost).toEqual(["0.0.0.0/0 via 203.0.113.254 dev br0 proto dhcp src 203.0.113.5 metric 100"]);
    const plan = planUplinkBridge(
      net("lan"),
      { ...nic, routes: [] },
      { ...built, state: { ...built.state, routes: gone }, lost },
    );
    expect(plan.lines).toEqual([`route prepend ${lost[0]}`]);
    expect(plan.rollback.at(-1)).toBe(
      "route prepend 0.0.0.0/0 via 203.0.113.254 dev eth0 proto dhcp src 203.0.113.5 metric 100",
    );
  });
});

describe("VLAN bridge", () => {
  const trunk = {
    name: "eth1",
    isBridge: false,
    master: null,
    mtu: 1500,
    up: true,
    mac: "52:54:00:00:00:01",
    ports: [],
  };
  const v = net("vlan10");
  if (v.mode !== "bridge" || v.vlan === undefined) throw new Error("vlan10 is a VLAN network");
  const n = v;

  it("nothing there: VLAN device first, then the bridge, then the one into the other (golden)", async () => {
    await expect(
      vlanUpLines(n, null, { ipv6: true, bridgeIpv6Off: null, trunk, vlanPort: null }).join("\n") + "\n",
    ).toMatchFileSnapshot(golden("vlan10.batch"));
  });

  it("everything in place: nothing to do; a loose VLAN port is enslaved; a down trunk is brought up", () => {
    const bridge = {
      name: "brvlan10",
      isBridge: true,
      master: null,
      mtu: 1400,
      up: true,
      mac: "02:6b:76:00:00:00",
      ports: ["eth1.10"],
    };
    const port = {
      link: { name: "eth1.10", isBridge: false, master: "brvlan10", mtu: 1400, up: true, mac: trunk.mac, ports: [] },
      vid: 10,
      lower: "eth1",
      alias: "kvmnet:vlan10",
    };
    expect(vlanUpLines(n, bridge, { ipv6: true, bridgeIpv6Off: false, trunk, vlanPort: port })).toEqual([]);
    const loose = { ...port, link: { ...port.link, master: null } };
    expect(vlanUpLines(n, bridge, { ipv6: true, bridgeIpv6Off: false, trunk, vlanPort: loose })).toEqual([
      "link set dev eth1.10 master brvlan10 up",
    ]);
    expect(
      vlanUpLines(n, bridge, { ipv6: true, bridgeIpv6Off: false, trunk: { ...trunk, up: false }, vlanPort: port }),
    ).toEqual(["link set dev eth1 up"]);
  });
});
