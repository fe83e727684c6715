// Pure parts of IPv6, published ports and the guard: config errors, the ULA derivation, reading
// /proc/net/if_inet6, the guest MAC in QEMU's command line, the guard's rules.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { checkFirewallCaps } from "../../src/firewall/caps.js";
import { ConfigError } from "../../src/errors.js";
import { autoUla } from "../../src/ipv6.js";
import { parseIfInet6 } from "../../src/observe/ipv6-state.js";
import { macFromQemuArgs } from "../../src/observe/qemu-mac.js";
import { guardRules } from "../../src/firewall/nft/guard.js";
import { csumSteps } from "../../src/decide/csum-steps.js";
import { showStep } from "../../src/core/steps.js";

const nat = (extra: string, global = "") =>
  `${global}[n]\nmode = nat\nbridge = kv0\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.200\n${extra}`;

function problems(text: string): string[] {
  try {
    checkFirewallCaps(parseConfig("/etc/kvmnet.conf", text));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.line}: ${p.key}: ${p.message}`);
    throw e;
  }
}

describe("address6 and dhcp6_range", () => {
  it("auto derives the same ULA /64 for the same machine and name, another for another name", () => {
    const a = autoUla("0123456789abcdef0123456789abcdef", "nat0");
    expect(a).toEqual(autoUla("0123456789abcdef0123456789abcdef\n", "nat0"));
    expect(a.prefix).toBe(64);
    expect(a.address).toMatch(/^fd[0-9a-f]{2}:[0-9a-f:]+::1$/);
    expect(autoUla("0123456789abcdef0123456789abcdef", "nat1").address).not.toBe(a.address);
  });
  it("refuses what a guests' /64 cannot be, naming the line", () => {
    expect(problems(nat("address6 = fe80::1/64\n"))).toEqual([
      "6: address6: fe80::1 is a link-local address, not one a network's prefix can hold",
    ]);
    expect(problems(nat("address6 = fd00::1/48\n"))[0]).toMatch(
      /prefix \/48: guests configure themselves \(SLAAC\) only in a \/64/,
    );
    expect(problems(nat("address6 = fd00::1/64\ndhcp6_range = fd00::ff,fd00::10\n"))[0]).toMatch(/reversed/);
    expect(problems(nat("address6 = fd00::1/64\ndhcp6_range = fd00:1::10,fd00:1::ff\n"))[0]).toMatch(
      /not inside fd00::\/64/,
    );
    expect(problems(nat("address6 = fd00::1/64\n", "[global]\nfirewall = iptables\n"))[0]).toMatch(
      /needs firewall = nftables/,
    );
    const two = `${nat("address6 = fd00::1/64\n")}[m]\nmode = routed\nbridge = kv1\naddress = 198.51.100.1/24\ndhcp_range = 198.51.100.10,198.51.100.20\naddress6 = fd00::2/64\n`;
    expect(problems(two)).toEqual(["12: address6: prefix fd00::/64 is already that of [n] (line 6)"]);
  });
});

describe("publish", () => {
  it("refuses a bad entry, a port published twice, loopback, and iptables, naming the line", () => {
    expect(problems(nat("publish = tcp:8080=nobody:80\n"))[0]).toMatch(/nobody is neither a host.NAME/);
    expect(problems(nat("publish = tcp:127.0.0.1:80=192.0.2.5:80\n"))[0]).toMatch(/route_localnet/);
    expect(problems(nat("publish = tcp:80=192.0.2.5:80, tcp:80=192.0.2.6:80\n"))[0]).toMatch(/already published/);
    expect(problems(nat("publish = tcp:80=192.0.2.5:80\n", "[global]\nfirewall = iptables\n"))[0]).toMatch(
      /publish: needs firewall = nftables/,
    );
  });
});

describe("guard", () => {
  it("needs dhcp_range; takes yes/no", () => {
    expect(problems("[n]\nmode = nat\nbridge = kv0\naddress = 192.0.2.1/24\nguard = yes\n")[0]).toMatch(
      /needs dhcp_range/,
    );
    expect(problems(nat("guard = maybe\n"))[0]).toMatch(/not yes or no/);
  });
  it("reads the guest MAC of a tap from QEMU's -netdev/-device and -nic options", () => {
    const argv = [
      "qemu-system-x86_64",
      "-netdev",
      "tap,id=a,ifname=vm0",
      "-device",
      "virtio-net-pci,netdev=a,mac=52:54:00:AA:00:01",
    ];
    expect(macFromQemuArgs(argv, "vm0")).toBe("52:54:00:aa:00:01");
    expect(macFromQemuArgs(argv, "vm1")).toBeNull();
    expect(macFromQemuArgs(["qemu", "-nic", "tap,ifname=vm1,model=virtio,mac=52:54:00:00:00:02"], "vm1")).toBe(
      "52:54:00:00:00:02",
    );
    expect(macFromQemuArgs(["qemu", "-netdev", "tap,id=a,ifname=vm0", "-device", "e1000,netdev=a"], "vm0")).toBeNull();
  });
  it("the guard lets DHCP from 0.0.0.0 through before it drops what the leases did not give", () => {
    const net = parseConfig("/x", nat("guard = yes\n")).networks[0]!;
    const rules = guardRules(net, "52:54:00:00:00:01", "h1");
    const dhcp = rules.indexOf("ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept");
    expect(dhcp).toBeGreaterThan(-1);
    expect(dhcp).toBeLessThan(rules.findIndex((r) => r.includes("ip saddr != @guard_ips")));
    expect(rules[0]).toBe("ether saddr != 52:54:00:00:00:01 drop");
  });
});

describe("/proc/net/if_inet6", () => {
  it("gives a device's addresses with their prefix length", () => {
    const text = [
      "fd000000000000060000000000000001 05 40 00 80   kvbr0",
      "fe8000000000000000d4a3fffe1e2a3b 05 40 20 80   kvbr0",
      "00000000000000000000000000000001 01 80 10 80       lo",
    ].join("\n");
    expect(parseIfInet6(text, "kvbr0")).toEqual(["fd00:0:0:6::1/64", "fe80::d4:a3ff:fe1e:2a3b/64"]);
  });
});

describe("DHCP checksum fix-up", () => {
  const net = parseConfig("/x", nat("")).networks[0]!;
  it("is made with the bridge, or added to one found without it; never where the kernel cannot carry it", () => {
    const made = csumSteps(net, true, true, true, null);
    expect(made.map(showStep)).toEqual([
      "tc -batch - <<'EOF'\nqdisc replace dev kv0 clsact\nfilter add dev kv0 egress pref 68 protocol ip u32 match ip protocol 17 0xff match ip dport 68 0xffff action csum udp\nEOF",
    ]);
    expect(csumSteps(net, true, true, false, false)).toEqual(made);
    expect(csumSteps(net, true, true, false, true)).toEqual([]);
    expect(csumSteps(net, true, true, false, null)).toEqual([]); // a hook does not look: made with the bridge
    expect(csumSteps(net, true, false, true, null)).toEqual([]);
    expect(csumSteps(net, false, true, true, null)).toEqual([]);
  });
});
