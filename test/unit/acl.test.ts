// Firewall rules (ACLs): the keys' values and errors (at their FILE:LINE), the refusal of the iptables backend,
// and the rules as nft prints them (golden file).
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { capsProblems } from "../../src/firewall/caps.js";
import { renderNft } from "../../src/firewall/nft/render.js";
import { nftTableView } from "../../src/firewall/nft/script.js";
import { isAclCounterOf } from "../../src/firewall/nft/acl-rules.js";
import { problems } from "../helpers/problems.js";

const WEB = "[web]\nmode = nat\nbridge = kvweb\naddress = 192.0.2.1/26\n";
const DB =
  "[db]\nmode = routed\nbridge = kvdb\naddress = 192.0.2.65/26\naddress6 = fd00:db::1/64\ndhcp_range = 192.0.2.70,192.0.2.80\n";
const ISO = "[iso]\nmode = isolated\nbridge = kviso\n";

const rules = (text: string) => parseConfig("f", WEB + text + "\n" + DB).networks[0]!.acl;

describe("rule values", () => {
  it.each([
    [
      "allow_in.ssh = tcp/22 from 198.51.100.0/24",
      { proto: "tcp", ports: ["22"], peer: { addrs: ["198.51.100.0/24"] } },
    ],
    ["deny_out.smtp = tcp/25", { proto: "tcp", ports: ["25"] }],
    ["deny_out.docs = to 203.0.113.0/24", { peer: { addrs: ["203.0.113.0/24"] } }],
    ["allow_out.web = TCP/80,443,8000-8100 to any", { proto: "tcp", ports: ["80", "443", "8000-8100"] }],
    ["deny_in.x = from 198.51.100.7/24 to 192.0.2.10", { peer: { addrs: ["198.51.100.0/24"] }, guest: "192.0.2.10" }],
    ["allow_in.ping = icmp from 2001:db8::5", { proto: "icmp", peer: { addrs: ["2001:db8::5"] } }],
    ["deny_out.all = any", {}],
    ["allow_out.dns = from 192.0.2.8/30 udp/53", { proto: "udp", ports: ["53"], guest: "192.0.2.8/30" }],
  ])("%s", (line, want) => {
    const [key] = line.split(" = ") as [string];
    const [action, dir] = key.split(".")[0]!.split("_");
    expect(rules(line + "\n")).toEqual([{ key, action, dir, ...want }]);
  });

  it("a network by name stands for its bridge and subnets (IPv4 and IPv6)", () => {
    const c = parseConfig("f", WEB + "\n" + DB + "allow_in.pg = tcp/5432 from web\n");
    const n = parseConfig("f", DB + "allow_out.pg = tcp/5432 to web\n\n" + WEB);
    expect(c.networks[1]!.acl![0]!.peer).toEqual({ net: "web", bridge: "kvweb", addrs: ["192.0.2.0/26"] });
    expect(n.networks[0]!.acl![0]!.peer).toEqual({ net: "web", bridge: "kvweb", addrs: ["192.0.2.0/26"] });
    const toDb = parseConfig("f", WEB + "allow_out.pg = tcp/5432 to db\n\n" + DB).networks[0]!.acl![0]!;
    expect(toDb.peer).toEqual({ net: "db", bridge: "kvdb", addrs: ["192.0.2.64/26", "fd00:db::/64"] });
  });

  it("names FILE:LINE and the key of each bad value", () => {
    expect(
      problems(
        WEB +
          [
            "allow_in.ssh = tcp/65536",
            "allow_in.a = tcp/90-80",
            "deny_out.b = smtp",
            "deny_out.c = icmp/8",
            "deny_out.d = to",
            "deny_out.e = to 203.0.113.0/24 to 198.51.100.0/24",
            "deny_out.f = to 203.0.113.999",
            "allow_in.j = to 198.51.100.9",
            "allow_in.k = from 2001:db8::/64 to 192.0.2.10",
            "allow_in.bad-name = tcp/22",
            "allow_in.l =",
            "deny_out.m = tcp/25 udp/25",
          ].join("\n") +
          "\n\n" +
          ISO,
      ),
    ).toEqual([
      '5: allow_in.ssh: "65536" is not a port 1..65535 or a range such as 8000-8100',
      "6: allow_in.a: port range 90-80 is reversed",
      '7: deny_out.b: "smtp" is not a protocol (tcp/PORT, udp/PORT, tcp, udp, icmp, any), "from PLACE" or "to PLACE"',
      '8: deny_out.c: "icmp/8": icmp has no ports (ports go with tcp or udp)',
      '9: deny_out.d: "to" needs a place after it: an address, a prefix, a network\'s name or any',
      '10: deny_out.e: "to" said twice: one to per rule (write another rule for another place)',
      '11: deny_out.f: "203.0.113.999" is not an address, a prefix such as 198.51.100.0/24, a network\'s name or any',
      '12: allow_in.j: 198.51.100.9 after "to" is not in this network\'s subnet (rules name the other side with "from")',
      "13: allow_in.k: mixes an IPv4 and an IPv6 address: one family per rule",
      '14: allow_in.bad-name: "bad-name" is not a rule name (letters, digits and _, at most 32)',
      "15: allow_in.l: empty: say what it allows, such as tcp/22 from 198.51.100.0/24",
      '16: deny_out.m: "udp/25": one protocol per rule (write another rule for another)',
    ]);
  });

  it("a network named by a rule must be another with a subnet (checked once the networks are valid)", () => {
    expect(problems(WEB + "allow_in.g = from nowhere\nallow_in.h = from web\nallow_in.i = from iso\n\n" + ISO)).toEqual(
      [
        '5: allow_in.g: no network is named "nowhere" (networks: web, iso); or write an address or prefix',
        "6: allow_in.h: web is this network: its guests meet on the bridge, where rules do not apply",
        "7: allow_in.i: network iso (mode isolated) has no subnet the host routes: name a nat, routed or host-only one",
      ],
    );
  });

  it("modes without a subnet of their own refuse the keys", () => {
    expect(problems(ISO + "deny_out.x = tcp/25\n")).toEqual([
      "4: deny_out.x: not used by mode isolated (only by nat, routed, host-only)",
    ]);
  });

  it("the iptables backend refuses them at their line", () => {
    const text = "[global]\nfirewall = iptables\n" + WEB + "deny_out.smtp = tcp/25\n";
    expect(capsProblems(parseConfig("/etc/kvmnet.conf", text)).map((p) => `${p.line}: ${p.key}: ${p.message}`)).toEqual(
      ["7: deny_out.smtp: needs firewall = nftables: kvmnet's iptables backend has no firewall rules (ACLs)"],
    );
    // The nft backend takes them.
    expect(capsProblems(parseConfig("/etc/kvmnet.conf", WEB + "deny_out.smtp = tcp/25\n"))).toEqual([]);
  });
});

describe("rules in the nft table", () => {
  it("dispatched by bridge to the network's acl chains, one counter per rule (golden)", async () => {
    const c = parseConfig(
      "f",
      WEB +
        "deny_out.smtp = tcp/25\ndeny_out.docs = to 203.0.113.0/24\nallow_out.web = tcp/80,443\n\n" +
        DB +
        "allow_in.pg = tcp/5432 from web\nallow_in.ssh = tcp/22 from 198.51.100.0/24 to 192.0.2.70\n" +
        "deny_in.bad = from 2001:db8:bad::/48\nallow_in.ping = icmp\n",
    );
    const view = c.networks.map((n) => nftTableView(renderNft(n)!)).join("\n");
    await expect(view).toMatchFileSnapshot("../golden/acl/web-db.nft");
  });

  it("a network without rules has no acl chain, and its digest does not change", () => {
    const plain = renderNft(parseConfig("f", WEB).networks[0]!)!;
    expect(Object.keys(plain.chains).filter((c) => c.startsWith("acl-"))).toEqual([]);
    expect(plain.counters.filter((c) => c.startsWith("acl-"))).toEqual([]);
    const only = renderNft(parseConfig("f", WEB + "deny_out.smtp = tcp/25\n").networks[0]!)!;
    expect(Object.keys(only.chains).filter((c) => c.startsWith("acl-"))).toEqual(["acl-out-web"]);
    expect(only.chains["from-web"]!.at(-1)).not.toBe(plain.chains["from-web"]!.at(-1));
  });
});

describe("whose ACL counter a counter in the table is (stale ones are removed by their network only)", () => {
  it("a rule's or a direction's counter of NET, configured or not; never another network's, dots or not", () => {
    const a = { name: "a" };
    expect(isAclCounterOf(a, "acl-a.deny_out.smtp")).toBe(true);
    expect(isAclCounterOf(a, "acl-a.allow_in.gone")).toBe(true);
    expect(isAclCounterOf(a, "acl-a.in-other")).toBe(true);
    // Network "a.allow_in"'s rule deny_out.x, network "a-b"'s, and kvmnet's own per-network counters.
    expect(isAclCounterOf(a, "acl-a.allow_in.deny_out.x")).toBe(false);
    expect(isAclCounterOf({ name: "a.allow_in" }, "acl-a.allow_in.deny_out.x")).toBe(true);
    expect(isAclCounterOf(a, "acl-a-b.deny_out.smtp")).toBe(false);
    expect(isAclCounterOf(a, "from-a")).toBe(false);
  });
});
