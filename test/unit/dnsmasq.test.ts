// dnsmasq's side of kvmnet, without root: the domain key (validation and golden config), what decide does with
// a stale, orphaned or unreadable dnsmasq, and which command lines count as kvmnet's dnsmasq.
import { describe, expect, it } from "vitest";
import { badDomain } from "../../src/config/domain.js";
import { parseConfig } from "../../src/config/validate.js";
import { dnsmasqDownSteps, dnsmasqRefusal, dnsmasqUpSteps } from "../../src/decide/dnsmasq.js";
import { ConfigError } from "../../src/errors.js";
import type { DnsmasqState } from "../../src/observe/dnsmasq.js";
import { isDnsmasqArgv } from "../../src/observe/dnsmasq-proc.js";
import { renderDnsmasq } from "../../src/render/dnsmasq.js";

const config = parseConfig(
  "/etc/kvmnet.conf",
  `
[global]
state_dir = /run/kvmnet
lease_dir = /var/lib/kvmnet
[lab]
mode = nat
bridge = kvbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
host.web = 52:54:00:88:88:88,192.0.2.10
domain = lab.example.org
`,
);
const lab = config.networks[0]!;
const want = renderDnsmasq(config, lab)!;
const CONF = "/run/kvmnet/lab.dnsmasq.conf";

// A running dnsmasq as configured, for bridge ifindex 7.
function state(over: Partial<DnsmasqState> = {}): DnsmasqState {
  return {
    pid: 42,
    orphans: [],
    ifindex: 7,
    bridgeIfindex: 7,
    conf: want.conf,
    hosts: want.hosts,
    addnHosts: want.addnHosts,
    leaseEvent: null,
    kvmnet: null,
    unreadable: [],
    stateDirLine: 0,
    ...over,
  };
}
const kinds = (steps: { kind: string }[]) => steps.map((s) => s.kind);

describe("domain key", () => {
  it.each([
    ["lab.example.org", null],
    ["internal", null],
    ["home.arpa", null],
    ["vm.home.arpa", null],
    ["com", /single label/],
    ["lab", /single label/],
    ["Lab.example", /upper-case.*"lab\.example"/],
    ["lab.example.", /ends with a dot: write "lab\.example"/],
    ["lab..example", /not a DNS domain/],
    ["-lab.example", /not a DNS domain/],
    ["lab_1.example", /not a DNS domain/],
    ["lab.local", /multicast DNS/],
    ["in-addr.arpa", /only home\.arpa/],
    ["lab.123", /numeric/],
    ["lab.ex\u0001ample", /not a DNS domain/],
    [`${"a".repeat(64)}.example`, /not a DNS domain/],
  ])("%s", (value, why) => {
    const got = badDomain(value);
    if (why === null) expect(got).toBeNull();
    else expect(got).toMatch(why);
  });

  it("is refused with FILE:LINE: domain, and needs dhcp_range", () => {
    expect(() =>
      parseConfig("/k.conf", "[a]\nmode = nat\nbridge = b0\naddress = 192.0.2.1/24\ndomain = com\n"),
    ).toThrow(/\/k\.conf:5: domain: "com" is a single label/);
    expect(() =>
      parseConfig("/k.conf", "[a]\nmode = nat\nbridge = b0\naddress = 192.0.2.1/24\ndomain = lab.example\n"),
    ).toThrow(/domain: needs dhcp_range/);
    expect(() => parseConfig("/k.conf", "[a]\nmode = isolated\nbridge = b0\ndomain = lab.example\n")).toThrow(
      /domain: not used by mode isolated/,
    );
  });

  it("renders domain=, local= (the domain and the subnet's reverse zone), expand-hosts and the search option (golden)", async () => {
    await expect(want.conf).toMatchFileSnapshot("../golden/nat/domain.dnsmasq.conf");
  });
});

describe("deciding on kvmnet's dnsmasq", () => {
  it("leaves a running, current one alone", () => {
    expect(dnsmasqUpSteps(config, lab, state())).toEqual([]);
  });
  it("restarts a stale one: the bridge has another ifindex, or is about to be made", () => {
    for (const s of [state({ bridgeIfindex: 9 }), state({ bridgeIfindex: null }), state({ ifindex: null })]) {
      const steps = dnsmasqUpSteps(config, lab, s);
      expect(kinds(steps)).toEqual(["mkdir", "mkdir", "signal", "dnsmasq-start"]);
      expect(steps[2]).toEqual({ kind: "signal", pid: 42, signal: "SIGTERM" });
      expect(steps[3]).toEqual({
        kind: "dnsmasq-start",
        conf: CONF,
        pidFile: "/run/kvmnet/lab.dnsmasq.pid",
        ifindexFile: "/run/kvmnet/lab.dnsmasq.ifindex",
        bridge: "kvbr0",
      });
    }
  });
  it("stops unrecorded ones before starting a recorded one; down stops them too", () => {
    const s = state({ pid: null, ifindex: null, orphans: [77, 78] });
    expect(dnsmasqUpSteps(config, lab, s).filter((x) => x.kind === "signal")).toEqual([
      { kind: "signal", pid: 77, signal: "SIGTERM" },
      { kind: "signal", pid: 78, signal: "SIGTERM" },
    ]);
    expect(kinds(dnsmasqDownSteps(config, lab, s))).toEqual([
      "signal",
      "signal",
      "unlink",
      "unlink",
      "unlink",
      "unlink",
      "unlink",
    ]);
  });
  it("writes again, and re-reads, a hostsfile it cannot read for its mode", () => {
    const steps = dnsmasqUpSteps(
      config,
      lab,
      state({
        unreadable: [
          { file: "/run/kvmnet/lab.hostsfile", blocker: "/run/kvmnet/lab.hostsfile", mode: 0o600, kind: "file" },
        ],
      }),
    );
    expect(kinds(steps)).toEqual(["mkdir", "mkdir", "write", "signal"]);
    expect(steps[3]).toMatchObject({ signal: "SIGHUP" });
  });
  it("refuses a state_dir nobody cannot enter when there are static leases", () => {
    const s = state({
      unreadable: [{ file: "/run/kvmnet/lab.hostsfile", blocker: "/run", mode: 0o700, kind: "dir" }],
      stateDirLine: 3,
    });
    const p = dnsmasqRefusal(config, lab, s);
    expect(p).toMatchObject({ file: "/etc/kvmnet.conf", line: 3, key: "state_dir" });
    expect(new ConfigError([p!]).message).toMatch(
      /^\/etc\/kvmnet\.conf:3: state_dir: \/run\/kvmnet: .* \/run \(mode 0700\) does not let it in/,
    );
    expect(dnsmasqRefusal(config, { ...lab, hosts: [] }, s)).toBeNull();
  });
});

describe("kvmnet's dnsmasq command line", () => {
  it.each([
    [["dnsmasq", `--conf-file=${CONF}`], true],
    [["/usr/sbin/dnsmasq", `--conf-file=${CONF}`], true],
    [["dnsmasq", `--conf-file=${CONF}`, "--port=5353"], false],
    [["dnsmasq", `--conf-file=${CONF}x`], false],
    [["notdnsmasq", `--conf-file=${CONF}`], false],
    [["sleep", "300"], false],
  ])("%j -> %s", (argv, ok) => {
    expect(isDnsmasqArgv(argv, CONF)).toBe(ok);
  });
});
