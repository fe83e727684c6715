// The DNS and DHCP-option keys without root: bad values refused at FILE:LINE: KEY, the dnsmasq config they render
// (golden), and what a change to them does to a running dnsmasq (a restart that keeps the lease file).
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { dnsmasqDownSteps, dnsmasqRefusal, dnsmasqUpSteps } from "../../src/decide/dnsmasq-steps.js";
import type { DnsmasqState } from "../../src/observe/dnsmasq-state.js";
import { renderDnsmasq, renderLeaseEvent } from "../../src/render/dnsmasq-conf.js";

const HEAD = `[global]
state_dir = /run/kvmnet
lease_dir = /var/lib/kvmnet
[lab]
mode = nat
bridge = kvbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
`;
const parse = (extra: string) => parseConfig("/etc/kvmnet.conf", HEAD + extra);

describe("dhcp_option, dns, dns_forwarders and dns records: bad values", () => {
  it.each([
    ["dhcp_option.ntp-servers = 192.0.2.5", /:9: dhcp_option\.ntp-servers: "ntp-servers" is not a DHCP option name/],
    ["dhcp_option.0 = 1", /:9: dhcp_option\.0: "0" is not a DHCP option number 1-254/],
    ["dhcp_option.255 = 1", /:9: dhcp_option\.255: "255" is not a DHCP option number 1-254/],
    ["dhcp_option.ntp-server = ntp.example", /:9: dhcp_option\.ntp-server: "ntp\.example": not a list of IPv4/],
    ["dhcp_option.42 = 192.0.2.5, 192.0.2.300", /:9: dhcp_option\.42: .*not a list of IPv4/],
    ["dhcp_option.T1 = soon", /:9: dhcp_option\.T1: "soon": not a whole number/],
    ["dhcp_option.ip-forward-enable = yes", /not 0 or 1/],
    ["dhcp_option.classless-static-route = 198.51.100.0/24", /not SUBNET\/PREFIX,GATEWAY pairs/],
    ["dhcp_option.root-path = /srv/a\\b", /text must not hold double quotes, backslashes/],
    ["dhcp_option.router = 192.0.2.1", /dhcp_option\.router: "router" \(option 3\) is not set this way/],
    ["dhcp_option.26 = 1400", /option 26 is not set this way: use the mtu key/],
    [
      "dhcp_option.domain-search = a.example\ndomain = lab.example",
      /:9: dhcp_option\.domain-search: domain = lab\.example already sends/,
    ],
    [
      "dhcp_option.42 = 192.0.2.5\ndhcp_option.ntp-server = 192.0.2.6",
      /:10: dhcp_option\.ntp-server: option 42 is already set/,
    ],
    ["dns = maybe", /:9: dns: "maybe" is not yes or no/],
    ["dns = no\ndns_forwarders = 198.51.100.53", /:10: dns_forwarders: dns = no runs no DNS/],
    [
      "dns_forwarders = 198.51.100.53, resolver.example",
      /:9: dns_forwarders: "resolver\.example" is not an IPv4 or IPv6/,
    ],
    ["dns_srv.ldap = web.lab.example,389", /:9: dns_srv\.ldap: "ldap" is not a service name such as _ldap\._tcp/],
    ["dns_srv._ldap._tcp = web.lab.example", /:9: dns_srv\._ldap\._tcp: .*is not TARGET,PORT/],
    ["dns_srv._ldap._tcp = web.lab.example,70000", /is not TARGET,PORT/],
    ['dns_txt.info = "say \\"hi\\""', /dns_txt\.info: .*not TXT text|backslash escapes/],
    ["dns_cname.www = not a name", /:9: dns_cname\.www: "not a name" is not a DNS name/],
    ["dns_cnam.www = web", /:9: dns_cnam\.www: unknown key/],
  ])("%s", (extra, why) => {
    expect(() => parse(extra)).toThrow(why);
  });

  it("needs dhcp_range and an addressed mode", () => {
    const noRange = HEAD.replace("dhcp_range = 192.0.2.100,192.0.2.200\n", "");
    expect(() => parseConfig("/k.conf", noRange + "dhcp_option.42 = 192.0.2.5\n")).toThrow(
      /dhcp_option\.42: needs dhcp_range/,
    );
    expect(() => parseConfig("/k.conf", "[a]\nmode = isolated\nbridge = b0\ndns = no\n")).toThrow(
      /:4: dns: not used by mode isolated/,
    );
  });
});

const full = parse(`host.web = 52:54:00:88:88:88,192.0.2.10
domain = lab.example
dns_forwarders = 198.51.100.53, 2001:db8::53
dns_srv._ldap._tcp = web.lab.example,389
dns_txt.info.lab.example = "v=spf1 -all, ok"
dns_cname.www.lab.example = web.lab.example
dhcp_option.ntp-server = 192.0.2.5, 192.0.2.6
dhcp_option.100 = "EST5EDT"
dhcp_option.classless-static-route = 198.51.100.0/24,192.0.2.1, 0.0.0.0/0,192.0.2.1
`);

describe("rendering", () => {
  it("writes forwarders, records and options into the network's dnsmasq config (golden)", async () => {
    await expect(renderDnsmasq(full, full.networks[0]!)!.conf).toMatchFileSnapshot("../golden/nat/dns.dnsmasq.conf");
  });
  it("dns = no: port=0 and nothing else of DNS", () => {
    const c = parse("dns = no\n");
    const conf = renderDnsmasq(c, c.networks[0]!)!.conf;
    expect(conf).toContain("\nport=0\n");
    expect(conf).not.toMatch(/server=|srv-host|no-resolv/);
  });
  it("adds nothing to a network without the keys", () => {
    const plain = parse("");
    expect(renderDnsmasq(plain, plain.networks[0]!)!.conf).not.toMatch(
      /port=|no-resolv|server=|dhcp-option=option:ntp/,
    );
  });
});

// A running dnsmasq as rendered for CONFIG.
function running(config: ReturnType<typeof parse>): DnsmasqState {
  const want = renderDnsmasq(config, config.networks[0]!)!;
  return {
    pid: 42,
    orphans: [],
    ifindex: 7,
    bridgeIfindex: 7,
    conf: want.conf,
    hosts: want.hosts,
    addnHosts: want.addnHosts,
    leaseEvent: renderLeaseEvent(config.networks[0]!, null),
    kvmnet: null,
    opts: want.opts,
    unreadable: [],
    stateDirLine: 0,
  };
}

describe("a change to the keys", () => {
  it("a changed dhcp_option only rewrites the optsfile and sends SIGHUP (dnsmasq re-reads it)", () => {
    const now = parse("dhcp_option.ntp-server = 192.0.2.7\n");
    const steps = dnsmasqUpSteps(now, now.networks[0]!, running(parse("dhcp_option.ntp-server = 192.0.2.5\n")));
    expect(steps).toEqual([
      { kind: "mkdir", path: "/run/kvmnet" },
      { kind: "mkdir", path: "/var/lib/kvmnet" },
      { kind: "write", path: "/run/kvmnet/lab.dhcpopts", content: "option:ntp-server,192.0.2.7\n" },
      { kind: "signal", pid: 42, signal: "SIGHUP" },
    ]);
  });
  it("the last dhcp_option removed: restart without the optsfile, which is deleted; down deletes it too", () => {
    const before = running(parse("dhcp_option.ntp-server = 192.0.2.5\n"));
    const none = parse("");
    const steps = dnsmasqUpSteps(none, none.networks[0]!, before);
    expect(steps.map((s) => s.kind)).toEqual(["mkdir", "mkdir", "unlink", "write", "signal", "dnsmasq-start"]);
    expect(steps[2]).toEqual({ kind: "unlink", path: "/run/kvmnet/lab.dhcpopts" });
    expect(dnsmasqDownSteps(none, none.networks[0]!, before)).toContainEqual({
      kind: "unlink",
      path: "/run/kvmnet/lab.dhcpopts",
    });
  });
  it("restarts the running dnsmasq (its config changed) and keeps the lease file", () => {
    const old = parse("");
    const want = renderDnsmasq(old, old.networks[0]!)!;
    const state: DnsmasqState = {
      pid: 42,
      orphans: [],
      ifindex: 7,
      bridgeIfindex: 7,
      conf: want.conf,
      hosts: want.hosts,
      addnHosts: want.addnHosts,
      leaseEvent: renderLeaseEvent(old.networks[0]!, null),
      kvmnet: null,
      unreadable: [],
      stateDirLine: 0,
    };
    const changed = parse("dns_forwarders = 198.51.100.53\n");
    const steps = dnsmasqUpSteps(changed, changed.networks[0]!, state);
    expect(steps.map((s) => s.kind)).toEqual(["mkdir", "mkdir", "write", "signal", "dnsmasq-start"]);
    expect(steps[3]).toEqual({ kind: "signal", pid: 42, signal: "SIGTERM" });
    expect(steps.filter((s) => s.kind === "unlink")).toEqual([]);
  });
});

describe("network boot keys", () => {
  it.each([
    ["boot_file = pxelinux.0", /:9: boot_file: needs tftp_root \(files served by this host\) or boot_server/],
    ["tftp_root = srv/tftp", /:9: tftp_root: "srv\/tftp" is not an absolute path/],
    ["tftp_root = /", /:9: tftp_root: "\/" would serve the whole file system/],
    ["tftp_root = /srv/a,b", /holds a comma/],
    [
      "tftp_root = /srv/tftp\nboot_file = ../etc/shadow",
      /:10: boot_file: "\.\.\/etc\/shadow" is not a file name under the TFTP root/,
    ],
    ["tftp_root = /srv/tftp\nboot_file_efi = /efi/grubx64.efi", /:10: boot_file_efi: .*no leading \//],
    ["boot_server = tftp.example\nboot_file = a", /:9: boot_server: "tftp\.example" is not an IPv4 address/],
    ["boot_server = 198.51.100.9", /:9: boot_server: needs boot_file/],
    [
      "tftp_root = /srv/tftp\nboot_server = 198.51.100.9\nboot_file = a",
      /boot_server: the boot files are either on this host/,
    ],
  ])("%s", (extra, why) => {
    expect(() => parse(extra)).toThrow(why);
  });
  it("needs dhcp_range", () => {
    const noRange = HEAD.replace("dhcp_range = 192.0.2.100,192.0.2.200\n", "");
    expect(() => parseConfig("/k.conf", noRange + "tftp_root = /srv/tftp\n")).toThrow(/tftp_root: needs dhcp_range/);
  });
  it("renders TFTP and a boot file per client architecture (golden); boot_server as next-server", async () => {
    const c = parse(
      "tftp_root = /srv/tftp/\nboot_file = pxelinux.0\nboot_file_efi = efi/grubx64.efi\nboot_file_ipxe = boot.ipxe\n",
    );
    await expect(renderDnsmasq(c, c.networks[0]!)!.conf).toMatchFileSnapshot("../golden/nat/tftp.dnsmasq.conf");
    const away = parse("boot_server = 198.51.100.9\nboot_file = pxelinux.0\n");
    const conf = renderDnsmasq(away, away.networks[0]!)!.conf;
    expect(conf).toContain("\ndhcp-boot=pxelinux.0,,198.51.100.9\n");
    expect(conf).not.toContain("tftp");
  });
});

describe("a state_dir dnsmasq cannot enter", () => {
  it("is refused for a network with dhcp_option keys (dnsmasq re-reads the optsfile as nobody)", () => {
    const c = parse("dhcp_option.ntp-server = 192.0.2.5\n");
    const state: DnsmasqState = {
      ...running(c),
      unreadable: [{ file: "/run/kvmnet/lab.dhcpopts", blocker: "/run", mode: 0o700, kind: "dir" }],
      stateDirLine: 2,
    };
    expect(dnsmasqRefusal(c, c.networks[0]!, state)).toMatchObject({
      line: 2,
      key: "state_dir",
      message: expect.stringContaining("dhcp_option.ntp-server and the others would be silently ignored"),
    });
  });
});
