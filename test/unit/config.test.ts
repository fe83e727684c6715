// Table of good and bad config files: each bad one must name the right line and key.
import { describe, expect, it } from "vitest";
import { problems } from "../helpers/problems.js";
import { parseConfig } from "../../src/config/validate.js";

const NAT = "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n";

describe("good configs", () => {
  it("parses the contract's example NAT network with every key", () => {
    const c = parseConfig(
      "f",
      `[global] ; optional
firewall  = iptables        ; nftables (default) | iptables
state_dir = /run/kvmnet
lease_dir = /var/lib/kvmnet

[nat0]
mode       = nat
bridge     = isolationbr    ; at most 15 characters
address    = 192.0.2.254/24
dhcp_range = 192.0.2.1,192.0.2.100
uplink     = eth0
snat_to    = 203.0.113.230
host.web   = 52:54:00:88:88:88,192.0.2.10   ; static lease
taps       = vnet*, lab-*
default    = no
mtu        = 1400
teardown   = when-idle
autostart  = yes
`,
    );
    expect(c.firewall).toBe("iptables");
    const n = c.networks[0]!;
    expect(n).toMatchObject({
      name: "nat0",
      mode: "nat",
      bridge: "isolationbr",
      address: { address: "192.0.2.254", prefix: 24 },
      dhcpRange: { first: "192.0.2.1", last: "192.0.2.100" },
      uplink: "eth0",
      snatTo: "203.0.113.230",
      hosts: [{ name: "web", mac: "52:54:00:88:88:88", ip: "192.0.2.10" }],
      taps: ["vnet*", "lab-*"],
      isDefault: false,
      mtu: 1400,
      teardown: "when-idle",
      autostart: true,
    });
    expect(n.lines.snat_to).toBe(12);
  });
  it("defaults [global] and keeps dotted section names whole", () => {
    const c = parseConfig(
      "f",
      "[lab.x]\nmode = isolated\nbridge = labx\n[vlan10]\nmode = bridge\nbridge = brvlan10\nvlan = 10\ntrunk = eth0\n",
    );
    expect(c).toMatchObject({ firewall: "nftables", stateDir: "/run/kvmnet", leaseDir: "/var/lib/kvmnet" });
    expect(c.networks.map((n) => n.name)).toEqual(["lab.x", "vlan10"]);
    expect(c.networks[1]).toMatchObject({ vlan: 10, trunk: "eth0" });
  });
});

describe("bad configs: FILE:LINE: KEY: what is wrong", () => {
  const cases: [string, string, RegExp][] = [
    [
      "misspelt key",
      NAT + "dhcp_rnage = 192.0.2.10,192.0.2.20\n",
      /^5: dhcp_rnage: unknown key; did you mean dhcp_range\?/,
    ],
    [
      "unknown global key",
      "[global]\nfirewal = nftables\n" + NAT,
      /^2: firewal: unknown key in \[global\]; did you mean firewall\?/,
    ],
    ["bad firewall", "[global]\nfirewall = ufw\n" + NAT, /^2: firewall: "ufw" is not nftables or iptables/],
    [
      "bad address",
      NAT.replace("192.0.2.1/24", "192.0.2.300/24"),
      /^4: address: "192.0.2.300\/24" is not an IPv4 address/,
    ],
    [
      "address without prefix",
      NAT.replace("192.0.2.1/24", "192.0.2.1"),
      /^4: address: .*not an IPv4 address with a prefix/,
    ],
    [
      "network address",
      NAT.replace("192.0.2.1/24", "192.0.2.0/24"),
      /^4: address: 192.0.2.0 is the network or broadcast/,
    ],
    ["missing address", "[nat0]\nmode = nat\nbridge = kvbr0\n", /^1: address: missing: mode nat needs/],
    ["missing mode", "[nat0]\nbridge = kvbr0\n", /^1: mode: missing in \[nat0\]/],
    ["bad mode", "[nat0]\nmode = natt\nbridge = kvbr0\n", /^2: mode: "natt" is not a mode/],
    ["dhcp range outside", NAT + "dhcp_range = 198.51.100.2,198.51.100.9\n", /^5: dhcp_range: .*not inside the subnet/],
    [
      "dhcp range reversed",
      NAT + "dhcp_range = 192.0.2.90,192.0.2.10\n",
      /^5: dhcp_range: reversed: 192.0.2.90 comes after 192.0.2.10/,
    ],
    [
      "dhcp range over host",
      NAT + "dhcp_range = 192.0.2.1,192.0.2.10\n",
      /^5: dhcp_range: includes the host's own address/,
    ],
    ["dhcp range malformed", NAT + "dhcp_range = 192.0.2.10\n", /^5: dhcp_range: .*not FIRST,LAST/],
    [
      "bridge name too long",
      NAT.replace("kvbr0", "averyveryverylongbridge"),
      /^3: bridge: "averyveryverylongbridge" is 23 characters, at most 15/,
    ],
    ["bridge name bad chars", NAT.replace("kvbr0", "kv br/0"), /^3: bridge: .*outside \[A-Za-z0-9_.-\]/],
    ["network name bad", NAT.replace("[nat0]", "[nat 0]"), /^1: \[nat 0\]: network name .*outside/],
    [
      "static lease bad MAC",
      NAT + "dhcp_range = 192.0.2.10,192.0.2.20\nhost.web = 52:54:00:88:88,192.0.2.30\n",
      /^6: host.web: .*not MAC,IP/,
    ],
    [
      "static lease outside subnet",
      NAT + "dhcp_range = 192.0.2.10,192.0.2.20\nhost.web = 52:54:00:88:88:88,203.0.113.5\n",
      /^6: host.web: 203.0.113.5 is not a free guest address/,
    ],
    [
      "static lease without dhcp",
      NAT + "host.web = 52:54:00:88:88:88,192.0.2.30\n",
      /^5: host.web: static leases need dhcp_range/,
    ],
    [
      "static lease duplicate",
      NAT +
        "dhcp_range = 192.0.2.10,192.0.2.20\nhost.a = 52:54:00:88:88:88,192.0.2.30\nhost.b = 52:54:00:88:88:88,192.0.2.31\n",
      /^7: host.b: MAC or IP already given to host.a/,
    ],
    ["key for another mode", NAT + "vlan = 10\n", /^5: vlan: not used by mode nat/],
    [
      "snat for isolated",
      "[iso]\nmode = isolated\nbridge = isobr\nsnat_to = 192.0.2.1\n",
      /^4: snat_to: not used by mode isolated/,
    ],
    ["bad mtu", NAT + "mtu = 9\n", /^5: mtu: "9" is not an MTU/],
    ["bad teardown", NAT + "teardown = never\n", /^5: teardown: "never" is not keep or when-idle/],
    ["bad bool", NAT + "autostart = maybe\n", /^5: autostart: "maybe" is not yes or no/],
    ["vlan without trunk", "[v]\nmode = bridge\nbridge = brv\nvlan = 10\n", /^4: vlan: needs trunk/],
    [
      "vlan out of range",
      "[v]\nmode = bridge\nbridge = brv\nvlan = 4095\ntrunk = eth0\n",
      /^4: vlan: "4095" is not a VLAN id/,
    ],
    [
      "vlan name too long",
      "[v]\nmode = bridge\nbridge = brv\nvlan = 4000\ntrunk = enp0s31f6abcd\n",
      /trunk: the VLAN interface name enp0s31f6abcd.4000 would be over 15/,
    ],
    [
      "two networks on one bridge",
      NAT + "[nat1]\nmode = nat\nbridge = kvbr0\naddress = 198.51.100.1/24\n",
      /^7: bridge: kvbr0 is already the bridge of \[nat0\] \(line 3\)/,
    ],
    [
      "overlapping subnets",
      NAT + "[nat1]\nmode = nat\nbridge = kvbr1\naddress = 192.0.2.129/25\n",
      /^8: address: subnet overlaps that of \[nat0\] \(line 4\)/,
    ],
    [
      "two defaults",
      NAT + "default = yes\n[i]\nmode = isolated\nbridge = ibr\ndefault = yes\n",
      /^9: default: \[nat0\] is already the default/,
    ],
    ["repeated key", NAT + "bridge = kvbr9\n", /^5: bridge: key repeated in \[nat0\] \(first at line 3\)/],
    ["repeated section", NAT + "[nat0]\nmode = nat\n", /^5: \[nat0\]: section repeated/],
    [
      "garbage line (not shown)",
      NAT + "this is not ini\n",
      /^5: : this line is neither "key = value" nor a \[section\] header: \/etc\/kvmnet.conf does not look like a kvmnet config \(its content is not shown\)$/,
    ],
    ["key before any section", "mode = nat\n" + NAT, /^1: mode: key outside any section/],
    ["uplink is a kvmnet bridge", NAT + "uplink = kvbr0\n", /^5: uplink: kvbr0 is a kvmnet bridge/],
  ];
  it.each(cases)("%s", (_name, text, want) => {
    const got = problems(text);
    expect(got.length, `no error for: ${text}`).toBeGreaterThan(0);
    expect(
      got.some((p) => want.test(p)),
      got.join("\n"),
    ).toBe(true);
  });

  it("lists every problem, not just the first", () => {
    const got = problems("[a]\nmode = nat\nbridge = x\naddress = nope\nmtu = 1\n[b]\nmode = bogus\n");
    expect(got.map((p) => p.split(":").slice(0, 2).join(":"))).toEqual([
      "4: address",
      "5: mtu",
      "6: bridge",
      "7: mode",
    ]);
  });
});
