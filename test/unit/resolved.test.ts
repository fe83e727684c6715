// The host resolving guest names through systemd-resolved, without root: what kvmnet registers for a network (render),
// how busctl's answer is read (observe's parser), and the steps decided from what resolved has (decide), up and down.
// The real proof, under a real systemd-resolved, is test/vm/resolved.test.ts.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import type { Network } from "../../src/config/types.js";
import { showStep } from "../../src/core/steps.js";
import { resolvedDownSteps, resolvedUpSteps } from "../../src/decide/resolved-steps.js";
import {
  linkPath,
  parseLinkProperties,
  resolvedLookWanted,
  type ResolvedState,
} from "../../src/observe/resolved-state.js";
import { renderDnsmasq } from "../../src/render/dnsmasq-conf.js";
import { reverseZone6, reverseZones4 } from "../../src/render/reverse-zones.js";
import { resolvedLinkFor } from "../../src/render/resolved-link.js";
import { parseCidr } from "../../src/ipv4.js";
import { parseCidr6 } from "../../src/ipv6.js";
import type { Link } from "../../src/observe/links.js";
import { applySteps } from "../../src/apply/apply.js";
import type { Exec } from "../../src/host/exec.js";
import { CommandError } from "../../src/errors.js";

const config = parseConfig(
  "/c",
  `[lab]
mode = nat
bridge = kvlab
address = 192.0.2.1/24
dhcp_range = 192.0.2.100,192.0.2.200
domain = lab.internal
[six]
mode = routed
bridge = kvsix
address = 198.51.100.1/22
address6 = fd00:0:0:12::1/64
dhcp_range = 198.51.100.10,198.51.100.20
domain = six.internal
[plain]
mode = nat
bridge = kvplain
address = 203.0.113.1/24
dhcp_range = 203.0.113.100,203.0.113.200
`,
);
const quiet = parseConfig(
  "/q",
  "[quiet]\nmode = nat\nbridge = kvquiet\naddress = 203.0.113.1/24\ndhcp_range = 203.0.113.100,203.0.113.200\n" +
    "domain = quiet.internal\ndns = no\n",
);
const net = (name: string): Network => config.networks.find((n) => n.name === name)!;
const link = (dns: string[], domains: string[], defaultRoute: boolean | null = false): ResolvedState => ({
  link: { dns, domains, defaultRoute },
});
const shown = (steps: ReturnType<typeof resolvedUpSteps>) => steps.map(showStep);
const REGISTER = [
  "resolvectl dns kvlab 192.0.2.1",
  "resolvectl domain kvlab ~lab.internal ~2.0.192.in-addr.arpa",
  "resolvectl default-route kvlab false",
];

describe("what a network registers with systemd-resolved", () => {
  it("the bridge's address for ~DOMAIN and the reverse zones of the subnet (IPv4 per octet, IPv6 /64)", () => {
    expect(resolvedLinkFor(config, net("lab"))).toEqual({
      dns: ["192.0.2.1"],
      domains: ["~lab.internal", "~2.0.192.in-addr.arpa"],
    });
    expect(resolvedLinkFor(config, net("six"))).toEqual({
      dns: ["198.51.100.1"],
      domains: [
        "~six.internal",
        "~100.51.198.in-addr.arpa",
        "~101.51.198.in-addr.arpa",
        "~102.51.198.in-addr.arpa",
        "~103.51.198.in-addr.arpa",
        "~2.1.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
      ],
    });
  });

  it("nothing without a domain, or with dns = no (no DNS on the bridge to send names to)", () => {
    expect(resolvedLinkFor(config, net("plain"))).toBeNull();
    expect(resolvedLinkFor(quiet, quiet.networks[0]!)).toBeNull();
  });

  it("reverse zones", () => {
    expect(reverseZones4(parseCidr("10.1.2.3/8")!)).toEqual(["10.in-addr.arpa"]);
    expect(reverseZones4(parseCidr("192.0.2.130/24")!)).toEqual(["2.0.192.in-addr.arpa"]);
    expect(reverseZones4(parseCidr("198.51.100.1/23")!)).toEqual([
      "100.51.198.in-addr.arpa",
      "101.51.198.in-addr.arpa",
    ]);
    expect(reverseZone6(parseCidr6("2001:db8:1:2::1/64")!)).toBe("2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  });

  it("dnsmasq answers those reverse zones itself: resolved sends them there, and asking upstream would loop", () => {
    expect(renderDnsmasq(config, net("lab"))!.conf).toContain("local=/lab.internal/\n");
    expect(renderDnsmasq(config, net("lab"))!.conf).toContain("local=/2.0.192.in-addr.arpa/\n");
    const six = renderDnsmasq(config, net("six"))!.conf;
    expect(six).toContain("local=/103.51.198.in-addr.arpa/\n");
    expect(six).toContain("local=/2.1.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa/\n");
    // Without a domain (and forwarders) nothing changes: the host's resolver is dnsmasq's upstream, as before.
    expect(renderDnsmasq(config, net("plain"))!.conf).not.toContain("in-addr.arpa");
  });
});

describe("reading resolved's link (busctl --json=short get-property ... DNS Domains DefaultRoute)", () => {
  it("parses what systemd 252 prints", () => {
    const text =
      '{"type":"a(iay)","data":[[2,[192,0,2,1]]]}\n' +
      '{"type":"a(sb)","data":[["lab.internal",true],["example.org",false]]}\n' +
      '{"type":"b","data":false}\n';
    expect(parseLinkProperties(text)).toEqual({
      dns: ["192.0.2.1"],
      domains: ["~lab.internal", "example.org"],
      defaultRoute: false,
    });
    expect(
      parseLinkProperties('{"type":"a(iay)","data":[]}\n{"type":"a(sb)","data":[]}\n{"type":"b","data":true}'),
    ).toEqual({ dns: [], domains: [], defaultRoute: true });
  });

  it("names the link's object as resolved does (the ifindex as a bus label)", () => {
    expect(linkPath(7)).toBe("/org/freedesktop/resolve1/link/_37");
    expect(linkPath(123)).toBe("/org/freedesktop/resolve1/link/_3123");
  });

  it("is looked at on up, down, reapply and watch, and by a hook only when it makes the bridge", () => {
    const br: Link = { name: "kvlab", isBridge: true, master: null, mtu: 1500, up: true, mac: "", ports: [] };
    expect(resolvedLookWanted(config, net("lab"), { action: "up" }, br)).toBe(true);
    expect(resolvedLookWanted(config, net("lab"), { action: "down" }, br)).toBe(true);
    expect(resolvedLookWanted(config, net("lab"), { action: "attach", tap: "vnet0" }, null)).toBe(true);
    // The warm path (bridge there, a VM starting) pays nothing.
    expect(resolvedLookWanted(config, net("lab"), { action: "attach", tap: "vnet0" }, br)).toBe(false);
    expect(resolvedLookWanted(config, net("lab"), { action: "detach", tap: "vnet0" }, br)).toBe(false);
    expect(resolvedLookWanted(config, net("plain"), { action: "attach", tap: "vnet0" }, null)).toBe(false);
  });
});

describe("steps", () => {
  it("resolved not running: nothing, whatever the network wants", () => {
    expect(resolvedUpSteps(config, net("lab"), null)).toEqual([]);
    expect(resolvedDownSteps(config, net("lab"), null)).toEqual([]);
  });

  it("a bridge being made, or a link with nothing set: dns, domain and default-route, in that order", () => {
    expect(shown(resolvedUpSteps(config, net("lab"), { link: null }))).toEqual(REGISTER);
    expect(shown(resolvedUpSteps(config, net("lab"), link([], [], false)))).toEqual(REGISTER);
  });

  it("registered already (domains in any order): nothing, so kvmnet up twice changes nothing", () => {
    const have = link(["192.0.2.1"], ["~2.0.192.in-addr.arpa", "~lab.internal"], false);
    expect(resolvedUpSteps(config, net("lab"), have)).toEqual([]);
  });

  it("only what differs is set again; a link resolved uses as a default route is taken off it", () => {
    expect(shown(resolvedUpSteps(config, net("lab"), link(["192.0.2.1"], ["~lab.internal"], false)))).toEqual([
      REGISTER[1],
      REGISTER[2],
    ]);
    expect(
      shown(resolvedUpSteps(config, net("lab"), link(["192.0.2.1"], ["~lab.internal", "~2.0.192.in-addr.arpa"], true))),
    ).toEqual([REGISTER[2]]);
  });

  it("a network whose domain was dropped: kvmnet's settings reverted, an admin's own left alone", () => {
    const plain = net("plain");
    const kvmnets = link(["203.0.113.1"], ["~old.internal", "~113.0.203.in-addr.arpa"]);
    expect(shown(resolvedUpSteps(config, plain, kvmnets))).toEqual(["resolvectl revert kvplain"]);
    expect(resolvedUpSteps(config, plain, link(["203.0.113.1"], ["~kvm"]))).toEqual([]);
    expect(
      resolvedUpSteps(config, plain, link(["198.51.100.53"], ["~old.internal", "~113.0.203.in-addr.arpa"])),
    ).toEqual([]);
    expect(resolvedUpSteps(config, plain, link([], []))).toEqual([]);
  });

  it("down reverts the bridge's link when it has settings, and does nothing when it has none or is gone", () => {
    const have = link(["192.0.2.1"], ["~lab.internal", "~2.0.192.in-addr.arpa"]);
    expect(shown(resolvedDownSteps(config, net("lab"), have))).toEqual(["resolvectl revert kvlab"]);
    expect(resolvedDownSteps(config, net("lab"), link([], []))).toEqual([]);
    expect(resolvedDownSteps(config, net("lab"), { link: null })).toEqual([]);
    expect(resolvedDownSteps(config, net("plain"), link(["203.0.113.1"], ["~kvm"]))).toEqual([]);
  });
});

describe("carrying out a resolvectl step", () => {
  // An executor whose resolvectl fails with STDERR the first FAILS times.
  function flaky(fails: number, stderr: string) {
    const calls: string[] = [];
    const exec: Exec = {
      tryRun(cmd, args) {
        calls.push([cmd, ...args].join(" "));
        const ok = calls.length > fails;
        return { ok, code: ok ? 0 : 1, stdout: "", stderr: ok ? "" : stderr };
      },
    };
    return { exec, calls };
  }

  it("waits out a link resolved does not know yet (a bridge made a moment ago)", () => {
    const f = flaky(2, "Failed to set DNS configuration: Link 7 not known\n");
    applySteps(f.exec, [{ kind: "resolvectl", args: ["dns", "kvlab", "192.0.2.1"] }]);
    expect(f.calls).toEqual(Array(3).fill("resolvectl dns kvlab 192.0.2.1"));
  });

  it("any other failure is a warning at once, naming the command and kvmnet doctor, and the next step runs", () => {
    const f = flaky(1, "Failed to set DNS configuration: Access denied\n");
    const warned: string[] = [];
    expect(() =>
      applySteps(
        f.exec,
        [
          { kind: "resolvectl", args: ["dns", "kvlab", "192.0.2.1"] },
          { kind: "firewall-cmd", args: ["--reload"] },
        ],
        (l) => warned.push(l),
      ),
    ).not.toThrow();
    expect(f.calls).toEqual(["resolvectl dns kvlab 192.0.2.1", "firewall-cmd --reload"]);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^warning: resolvectl dns kvlab 192\.0\.2\.1 failed: .*Access denied/);
    expect(warned[0]).toContain("kvmnet doctor");
  });

  it("a resolvectl that is not installed is a warning too; other steps' failures still throw", () => {
    const warned: string[] = [];
    const missing: Exec = {
      tryRun: (cmd) => ({ ok: false, code: null, stdout: "", stderr: `${cmd}: not found (is it installed?)` }),
    };
    applySteps(missing, [{ kind: "resolvectl", args: ["revert", "kvlab"] }], (l) => warned.push(l));
    expect(warned[0]).toMatch(/resolvectl revert kvlab failed: resolvectl: not found/);
    expect(() => applySteps(missing, [{ kind: "firewall-cmd", args: ["--reload"] }], () => {})).toThrow(CommandError);
  });
});
