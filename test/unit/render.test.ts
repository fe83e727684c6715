// Golden files of what kvmnet renders for NAT networks: nft table, iptables chains, dnsmasq config.
import { describe, expect, it } from "vitest";
import type { Network } from "../../src/config/types.js";
import { parseConfig } from "../../src/config/validate.js";
import { renderDnsmasq } from "../../src/render/dnsmasq-conf.js";
import { iptablesUpScript } from "../../src/firewall/iptables/diff.js";
import { renderIptables } from "../../src/firewall/iptables/render.js";
import { renderNft } from "../../src/firewall/nft/render.js";
import { nftTableView } from "../../src/firewall/nft/script.js";

const config = parseConfig(
  "/etc/kvmnet.conf",
  `
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
`,
);
const [nat0, snat] = config.networks as [(typeof config.networks)[0], (typeof config.networks)[0]];
const golden = (name: string) => `../golden/nat/${name}`;
// On a host with none of kvmnet's chains: what one network's first up loads.
const iptablesAll = (n: Network) => iptablesUpScript(n, renderIptables(n)!, {});
const renderNftTable = (n: Network) => {
  const w = renderNft(n);
  return w && nftTableView(w);
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

describe("IPv6 golden files", () => {
  const six = parseConfig(
    "/etc/kvmnet.conf",
    `
[nat6]
mode = nat
bridge = kvbr6
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
address6 = fd00:0:0:6::1/64
dhcp6_range = fd00:0:0:6::100,fd00:0:0:6::1ff
uplink = eth0
mtu = 1400
[rt6]
mode = routed
bridge = kvbr7
address = 198.51.100.1/24
dhcp_range = 198.51.100.100,198.51.100.200
address6 = 2001:db8:0:7::1/64
[ho6]
mode = host-only
bridge = kvbr8
address = 203.0.113.1/24
dhcp_range = 203.0.113.100,203.0.113.200
address6 = fd00:0:0:8::1/64
`,
  );
  const [nat6, rt6, ho6] = six.networks as [Network, Network, Network];
  it("nat: IPv6 twins of the forward rules, NAT66 by its own map, DHCPv6 let in", async () => {
    await expect(renderNftTable(nat6)).toMatchFileSnapshot(golden("nat6.nft"));
  });
  it("routed: the /64 forwarded both ways, no NAT", async () => {
    await expect(renderNftTable(rt6)).toMatchFileSnapshot(golden("rt6.nft"));
  });
  it("dnsmasq: router advertisements with the MTU; SLAAC with stateless DHCPv6, or a DHCPv6 pool", async () => {
    await expect(renderDnsmasq(six, nat6)!.conf).toMatchFileSnapshot(golden("nat6.dnsmasq.conf"));
    await expect(renderDnsmasq(six, rt6)!.conf).toMatchFileSnapshot(golden("rt6.dnsmasq.conf"));
  });
  it("host-only: advertises the prefix with router lifetime 0 (no default route)", () => {
    expect(renderDnsmasq(six, ho6)!.conf).toContain("ra-param=kvbr8,60,0\n");
  });
});

describe("published ports golden file", () => {
  const pub = parseConfig(
    "/etc/kvmnet.conf",
    `
[web]
mode = nat
bridge = kvbr9
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
host.web = 52:54:00:88:88:88,192.0.2.10
publish = tcp:8080=web:80, udp:5353=192.0.2.11:53, tcp:198.51.100.2:8443=web:443
`,
  );
  it("DNAT by protocol and port (prerouting and output), the forward accept, the hairpin masquerade", async () => {
    await expect(renderNftTable(pub.networks[0]!)).toMatchFileSnapshot(golden("publish.nft"));
  });
});
