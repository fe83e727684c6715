// Golden files of what kvmnet renders for NAT networks: nft table, iptables chains, dnsmasq config.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { renderDnsmasq } from "../../src/render/dnsmasq.js";
import { iptablesUpScript, jumpKey, renderIptables } from "../../src/render/iptables.js";
import { renderNftTable } from "../../src/render/nft.js";

const config = parseConfig("/etc/kvmnet.conf", `
[global]
state_dir = /run/kvmnet
lease_dir = /var/lib/kvmnet
[nat0]
mode = nat
bridge = kvbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
host.web = 52:54:00:88:88:88,192.0.2.10
host.db = 52:54:00:88:88:89,192.0.2.11
mtu = 1400
[snat]
mode = nat
bridge = kvbr1
address = 198.51.100.1/24
uplink = eth0
snat_to = 203.0.113.7
`);
const [nat0, snat] = config.networks as [typeof config.networks[0], typeof config.networks[0]];
const golden = (name: string) => `../golden/nat/${name}`;
const iptablesAll = (n: typeof nat0) => {
  const t = renderIptables(n);
  return iptablesUpScript(t, new Set(t.flatMap((x) => x.jumps.map(([b, c]) => jumpKey(b, c)))));
};

describe("NAT golden files", () => {
  it("nft table (masquerade)", async () => {
    await expect(renderNftTable(nat0)).toMatchFileSnapshot(golden("nat0.nft"));
  });
  it("nft table (uplink, snat_to)", async () => {
    await expect(renderNftTable(snat)).toMatchFileSnapshot(golden("snat.nft"));
  });
  it("iptables chains (masquerade)", async () => {
    await expect(iptablesAll(nat0)).toMatchFileSnapshot(golden("nat0.iptables"));
  });
  it("iptables chains (uplink, snat_to)", async () => {
    await expect(iptablesAll(snat)).toMatchFileSnapshot(golden("snat.iptables"));
  });
  it("dnsmasq config, hostsfile and addn-hosts", async () => {
    const d = renderDnsmasq(config, nat0)!;
    await expect(d.conf).toMatchFileSnapshot(golden("nat0.dnsmasq.conf"));
    await expect(d.hosts).toMatchFileSnapshot(golden("nat0.hostsfile"));
    await expect(d.addnHosts).toMatchFileSnapshot(golden("nat0.addnhosts"));
  });
  it("no dnsmasq without a dhcp_range", () => {
    expect(renderDnsmasq(config, snat)).toBeNull();
  });
});

describe("iptables jump order", () => {
  it("puts a new forward-in jump on top and its forward-out jump after every forward-in jump", () => {
    const t = renderIptables(nat0);
    const all = new Set(t.flatMap((x) => x.jumps.map(([b, c]) => jumpKey(b, c))));
    const script = iptablesUpScript(t, all, 2);
    expect(script).toContain("-I FORWARD 1 -j KVMNET-FWI-nat0\n-I FORWARD 4 -j KVMNET-FWO-nat0\n");
  });
  it("adds only the missing forward-out jump, right after the existing forward-in jumps", () => {
    const script = iptablesUpScript(renderIptables(nat0), new Set([jumpKey("FORWARD", "KVMNET-FWO-nat0")]), 3);
    expect(script).not.toContain("KVMNET-FWI-nat0 -j");
    expect(script).toMatch(/^-I FORWARD 4 -j KVMNET-FWO-nat0$/m);
    expect(script).not.toMatch(/^-I (INPUT|POSTROUTING)/m);
  });
});
