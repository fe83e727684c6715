// What kvmnet watch reacts to (lines of nft monitor and ip monitor link, as printed here) and which networks
// count as up.
import { describe, expect, it } from "vitest";
import { linkLineMatters, nftLineMatters, stillUp } from "../../src/cli/watch-events.js";
import type { Network } from "../../src/config/types.js";
import type { Snapshot } from "../../src/observe/snapshot.js";

describe("nftLineMatters", () => {
  it.each([
    ["delete table inet kvmnet", true],
    ["flush ruleset", true],
    ["delete rule ip filter FORWARD handle 2", true],
    ["add chain ip filter FORWARD { type filter hook forward priority filter; policy accept; }", true],
    ['delete element inet kvmnet from-map { "kb1" : jump from-nat0 }', true],
    ['add element inet kvmnet to-map { "kb1" : jump to-nat0 }', true],
    // fail2ban and the like: set elements of other tables, all day long
    ["add element inet f2b-table addr-set-sshd { 198.51.100.7 }", false],
    ["delete element ip filter blocklist { 203.0.113.9 }", false],
    ["# new generation 5 by process 18530 (nft)", false],
    ["", false],
  ])("%s -> %s", (line, want) => expect(nftLineMatters(line)).toBe(want));
});

describe("linkLineMatters", () => {
  const names = new Set(["kvbr", "eth0"]);
  it.each([
    ["2: kvbr: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default ", true],
    ["Deleted 2: kvbr: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default ", true],
    ["3: vm0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop master kvbr state DOWN group default ", true],
    ["Deleted 3: vm0: <BROADCAST,MULTICAST> mtu 1500 master kvbr state DOWN ", true],
    ["5: eth0.10@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN", false],
    ["4: eth0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc fq state UP", true],
    ["3: vm0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default ", false],
    ["6: kvbr2: <BROADCAST> mtu 1500 master kvbr2x state DOWN", false],
    ["    link/ether da:f8:05:7f:68:77 brd ff:ff:ff:ff:ff:ff", false],
  ])("%s -> %s", (line, want) => expect(linkLineMatters(line, names)).toBe(want));
});

describe("stillUp", () => {
  const net = { name: "nat0", mode: "nat", bridge: "kvbr" } as Network;
  const snap = (s: Partial<Snapshot>) => ({ bridge: null, dnsmasq: null, firewall: null, ...s }) as Snapshot;
  const dnsmasq = (pid: number | null, orphans: number[] = []) => ({ pid, orphans }) as unknown as Snapshot["dnsmasq"];
  it("is up while the bridge exists", () => {
    expect(stillUp(net, snap({ bridge: { name: "kvbr" } as Snapshot["bridge"] }))).toBe(true);
  });
  it("without the bridge: up while its dnsmasq runs (the bridge was deleted by someone else)", () => {
    expect(stillUp(net, snap({ dnsmasq: dnsmasq(1234) }))).toBe(true);
    expect(stillUp(net, snap({ dnsmasq: dnsmasq(null, [99]) }))).toBe(true);
  });
  it("without bridge, dnsmasq and rules: down (kvmnet down or a down hook took it down)", () => {
    expect(stillUp(net, snap({ dnsmasq: dnsmasq(null) }))).toBe(false);
    expect(stillUp(net, snap({}))).toBe(false);
    const save = { filter: { declared: [], rules: {} }, nat: { declared: [], rules: {} } };
    expect(stillUp(net, snap({ firewall: { backend: "iptables", save } as Snapshot["firewall"] }))).toBe(false);
  });
});
