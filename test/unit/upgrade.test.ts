// Hosts upgraded from kvmnet 0.1 (one nft table or its own built-in jumps per network, no record of the bridge
// its dnsmasq serves), without root: what decide and status make of them. The real upgrade, with the first
// release built and run, is test/netns/upgrade.test.ts.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { dnsmasqUpSteps, isStale } from "../../src/decide/dnsmasq-steps.js";
import { firewallOldLayout, firewallUpSteps } from "../../src/firewall/up-down.js";
import type { DnsmasqState } from "../../src/observe/dnsmasq-state.js";
import { parseDhcpDevice } from "../../src/observe/dnsmasq-socket.js";
import { parseIptablesSave } from "../../src/firewall/iptables/save.js";
import { renderDnsmasq, renderLeaseEvent } from "../../src/render/dnsmasq-conf.js";
import { nftChains } from "../../src/core/names.js";
import { renderNft } from "../../src/firewall/nft/render.js";

const config = parseConfig(
  "/etc/kvmnet.conf",
  "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\n",
);
const nat0 = config.networks[0]!;

describe("the bridge a dnsmasq without kvmnet's record serves, from ss", () => {
  const ss = [
    'UNCONN 0      0        192.0.2.1:53   0.0.0.0:* users:(("dnsmasq",pid=7440,fd=6))',
    'UNCONN 0      0      0.0.0.0%kvbr0:67 0.0.0.0:* users:(("dnsmasq",pid=7440,fd=4))',
    'UNCONN 0      0      0.0.0.0%if12:67  0.0.0.0:* users:(("dnsmasq",pid=812,fd=4))',
    'UNCONN 0      0          0.0.0.0:67   0.0.0.0:* users:(("dhcpd",pid=99,fd=7))',
  ].join("\n");
  it("is the device its DHCP socket is bound to, `ifN` once that device is gone", () => {
    expect(parseDhcpDevice(ss, 7440)).toBe("kvbr0");
    expect(parseDhcpDevice(ss, 812)).toBe("if12");
  });
  it("is unknown for a process with no DHCP socket bound to a device (not pid 74, a prefix of 7440)", () => {
    expect(parseDhcpDevice(ss, 99)).toBeNull();
    expect(parseDhcpDevice(ss, 74)).toBeNull();
  });
});

describe("a dnsmasq kvmnet 0.1 started (no ifindex record)", () => {
  const want = renderDnsmasq(config, nat0)!;
  const state = (over: Partial<DnsmasqState>): DnsmasqState => ({
    pid: 42,
    orphans: [],
    ifindex: 7,
    bridgeIfindex: 7,
    conf: want.conf,
    hosts: want.hosts,
    addnHosts: want.addnHosts,
    leaseEvent: renderLeaseEvent(nat0, null),
    kvmnet: null,
    unreadable: [],
    stateDirLine: 0,
    ...over,
  });
  it("bound to the bridge there now: not stale, and its ifindex is recorded without a restart", () => {
    const s = state({ ifindexFrom: "socket" });
    expect(isStale(s)).toBe(false);
    expect(dnsmasqUpSteps(config, nat0, s)).toEqual([
      { kind: "write", path: "/run/kvmnet/nat0.dnsmasq.ifindex", content: "7\n" },
    ]);
  });
  it("bound to a bridge that is gone: stale, restarted", () => {
    const s = state({ ifindex: 5, ifindexFrom: "socket" });
    expect(isStale(s)).toBe(true);
    expect(dnsmasqUpSteps(config, nat0, s).map((x) => x.kind)).toEqual(["mkdir", "mkdir", "signal", "dnsmasq-start"]);
  });
  it("nothing told which bridge: taken as the bridge's, left alone and not recorded on a guess", () => {
    expect(dnsmasqUpSteps(config, nat0, state({ ifindexFrom: "bridge" }))).toEqual([]);
  });
});

describe("kvmnet 0.1's firewall layout", () => {
  const want = renderNft(nat0)!;
  const from = nftChains(nat0).from;
  const quick = { chains: { [from]: want.chains[from]! }, elements: want.elements, counters: [] };
  it("nftables: its table beside a network in place (a downgrade and back) is deleted, alone, and counted", () => {
    const state = { backend: "nftables" as const, quick, full: { table: null, oldTable: true }, other: null };
    expect(firewallUpSteps(nat0, state)).toEqual([
      { kind: "nft", script: "table ip kvmnet-nat0\ndelete table ip kvmnet-nat0\n" },
    ]);
    expect(firewallOldLayout(nat0, state)).toBe(true);
    expect(firewallUpSteps(nat0, { backend: "nftables", quick })).toEqual([]);
    expect(firewallOldLayout(nat0, { backend: "nftables", quick })).toBe(false);
  });
  it("iptables: its chains jumped from the built-in chains are the old layout", () => {
    const save = parseIptablesSave(
      [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":KVMNET-INP-nat0 - [0:0]",
        ":KVMNET-FWI-nat0 - [0:0]",
        ":KVMNET-FWO-nat0 - [0:0]",
        "-A INPUT -j KVMNET-INP-nat0",
        "-A FORWARD -j KVMNET-FWI-nat0",
        "-A FORWARD -j KVMNET-FWO-nat0",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(firewallOldLayout(nat0, { backend: "iptables", save })).toBe(true);
    expect(firewallOldLayout(nat0, { backend: "iptables", save: parseIptablesSave("") })).toBe(false);
  });
});
