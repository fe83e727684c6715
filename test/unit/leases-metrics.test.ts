// The parsers behind `kvmnet leases` and `kvmnet metrics`: dnsmasq's lease file (DHCP and DHCPv6 lines), the
// bridge's binary forwarding database, the neighbour table, rule counters of both backends, the join of all of
// them, and the exposition format (checked by Debian's prometheus_client parser).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { macOfDuid, parseLeaseFile, parseLeases } from "../../src/cli/leases.js";
import { leaseReport } from "../../src/cli/leases-report.js";
import { drawLeases } from "../../src/cli/leases-cmd.js";
import { parseListen } from "../../src/cli/metrics-cmd.js";
import { escapeLabel, exposition } from "../../src/cli/metrics-text.js";
import { paint } from "../../src/cli/output.js";
import { iptablesRuleCounts } from "../../src/firewall/iptables/counters.js";
import { nftRuleCounts, parseNftCounters } from "../../src/firewall/nft/counters.js";
import { parseBrforward, readFdb } from "../../src/observe/fdb.js";
import { parseNeighbours } from "../../src/observe/neigh.js";
import { parseExposition, sampleValue } from "../helpers/prom.js";

// A lease file as dnsmasq 2.89 writes it with DHCP and stateful DHCPv6 on one interface: IPv4 leases first,
// then the server's DUID, then one line per IPv6 address (IAID, T for a temporary address).
const LEASES = `1763870000 52:54:00:88:88:88 192.0.2.10 web 01:52:54:00:88:88:88
1763870100 52:54:00:12:34:56 192.0.2.150 * *
0 52:54:00:aa:bb:cc 192.0.2.151 forever ff:00:00:00:01
1700000000 52:54:00:de:ad:00 192.0.2.152 gone *
duid 00:01:00:01:2c:6b:7d:01:02:6b:76:fa:b7:0e
1763871000 1234567 fd00:0:0:6::1a2b web 00:01:00:01:2c:6b:7d:9a:52:54:00:88:88:88
1763871000 T89 fd00:0:0:6::77 * 00:03:00:01:52:54:00:12:34:56
1763871000 42 fd00:0:0:6::99 orphan 00:02:00:00:ab:11:01:02:03:04
this is no lease
`;

describe("dnsmasq lease file", () => {
  const f = parseLeaseFile(LEASES);
  it("reads IPv4 leases with hostname, client id and expiry (0: never, *: none)", () => {
    expect(f.v4).toEqual([
      {
        mac: "52:54:00:88:88:88",
        ip: "192.0.2.10",
        hostname: "web",
        clientId: "01:52:54:00:88:88:88",
        expires: new Date(1763870000e3).toISOString(),
      },
      {
        mac: "52:54:00:12:34:56",
        ip: "192.0.2.150",
        hostname: null,
        clientId: null,
        expires: "2025-11-23T03:55:00.000Z",
      },
      { mac: "52:54:00:aa:bb:cc", ip: "192.0.2.151", hostname: "forever", clientId: "ff:00:00:00:01", expires: null },
      {
        mac: "52:54:00:de:ad:00",
        ip: "192.0.2.152",
        hostname: "gone",
        clientId: null,
        expires: "2023-11-14T22:13:20.000Z",
      },
    ]);
  });
  it("reads the server DUID and DHCPv6 lines after it, the MAC from DUID-LLT and DUID-LL, T for temporary", () => {
    expect(f.serverDuid).toBe("00:01:00:01:2c:6b:7d:01:02:6b:76:fa:b7:0e");
    expect(f.v6.map((l) => [l.ip, l.iaid, l.temporary, l.hostname, l.mac])).toEqual([
      ["fd00:0:0:6::1a2b", 1234567, false, "web", "52:54:00:88:88:88"],
      ["fd00:0:0:6::77", 89, true, null, "52:54:00:12:34:56"],
      ["fd00:0:0:6::99", 42, false, "orphan", null],
    ]);
  });
  it("reports lines that are none of these by number, and keeps status' IPv4 view unchanged", () => {
    expect(f.bad).toEqual([{ line: 9, text: "this is no lease" }]);
    expect(parseLeases(LEASES)[1]).toEqual({
      mac: "52:54:00:12:34:56",
      ip: "192.0.2.150",
      hostname: null,
      expires: "2025-11-23T03:55:00.000Z",
    });
  });
  it("finds a MAC only in Ethernet DUID-LL(T)", () => {
    expect(macOfDuid("00:03:00:01:52:54:00:12:34:56")).toBe("52:54:00:12:34:56");
    expect(macOfDuid("00:03:00:20:52:54:00:12:34:56")).toBeNull(); // hardware type 32 (Infiniband)
    expect(macOfDuid("00:04:12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0")).toBeNull(); // DUID-UUID
  });
});

// /sys/class/net/br9/brforward read on this machine: t2 (port 2) learned 52:54:00:00:00:02 2.53 s ago, t1
// (port 1) learned f6:a7:32:15:24:43; then the ports' own (local) addresses.
const BRFORWARD = Buffer.from(
  "5254000000020200fd00000000000000f6a7321524430100200000000000" +
    "000052811ccd09d1020100000000000000005e1fc7470973010100000000" +
    "00000000",
  "hex",
);

describe("bridge forwarding database (brforward)", () => {
  it("decodes struct __fdb_entry: MAC, port (port_hi << 8 | port_no), local, age in USER_HZ ticks", () => {
    expect(parseBrforward(BRFORWARD, true)).toEqual([
      { mac: "52:54:00:00:00:02", port: 2, local: false, ageSeconds: 2.53 },
      { mac: "f6:a7:32:15:24:43", port: 1, local: false, ageSeconds: 0.32 },
      { mac: "52:81:1c:cd:09:d1", port: 2, local: true, ageSeconds: 0 },
      { mac: "5e:1f:c7:47:09:73", port: 1, local: true, ageSeconds: 0 },
    ]);
    const big = Buffer.alloc(16);
    Buffer.from("525400000009", "hex").copy(big);
    big[6] = 3; // port_no
    big[12] = 1; // port_hi
    big.writeUInt32BE(100, 8);
    expect(parseBrforward(big, false)).toEqual([{ mac: "52:54:00:00:00:09", port: 259, local: false, ageSeconds: 1 }]);
  });

  const sys = mkdtempSync(join(tmpdir(), "kvmnet-sys-"));
  afterAll(() => rmSync(sys, { recursive: true, force: true }));
  it("maps port numbers to ports by brif/*/port_no, leaving local entries out", () => {
    for (const [port, no] of [
      ["t1", "0x1"],
      ["t2", "0x2"],
    ]) {
      mkdirSync(join(sys, "br9", "brif", port!), { recursive: true });
      writeFileSync(join(sys, "br9", "brif", port!, "port_no"), `${no}\n`);
    }
    writeFileSync(join(sys, "br9", "brforward"), BRFORWARD);
    expect(readFdb("br9", sys)).toEqual(
      new Map([
        ["52:54:00:00:00:02", { port: "t2", ageSeconds: 2.53 }],
        ["f6:a7:32:15:24:43", { port: "t1", ageSeconds: 0.32 }],
      ]),
    );
    expect(readFdb("nosuchbr", sys)).toEqual(new Map());
  });
});

const NEIGH = `[{"dst":"192.0.2.150","lladdr":"52:54:00:12:34:56","state":["REACHABLE"]},{"dst":"fe80::5054:ff:fe12:3456","lladdr":"52:54:00:12:34:56","router":null,"state":["STALE"]},{"dst":"fd00:0:0:6::5054:ff:fe12:3456","lladdr":"52:54:00:12:34:56","state":["DELAY"]},{"dst":"192.0.2.99","state":["FAILED"]},{"dst":"fd00:0:0:6::abcd","lladdr":"52:54:00:00:00:77","state":["STALE"]}]`;

describe("leases joined by MAC", () => {
  const config = parseConfig(
    "/etc/kvmnet.conf",
    "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\naddress6 = fd00:0:0:6::1/64\ndhcp_range = 192.0.2.100,192.0.2.199\n" +
      "dhcp6_range = fd00:0:0:6::1000,fd00:0:0:6::1fff\nhost.web = 52:54:00:88:88:88,192.0.2.10\nhost.db = 52:54:00:88:88:89,192.0.2.11\n",
  );
  const net = config.networks[0]!;
  const now = Date.parse("2025-11-23T03:00:00Z");
  const fdb = new Map([
    ["52:54:00:88:88:88", { port: "vnet1" }],
    ["52:54:00:12:34:56", { port: "vnet2" }],
  ]);
  const r = leaseReport(
    net,
    "/x.leases",
    { file: parseLeaseFile(LEASES), fdb, neighbours: parseNeighbours(NEIGH) },
    now,
  );

  it("static hosts first (with their lease, or none yet), then dynamic leases, IPv6 attached by DUID or name", () => {
    const rows = r.guests.map((g) => [g.kind, g.name, g.mac, g.ip, g.tap, g.state, g.ipv6.map((a) => a.ip)]);
    expect(rows).toEqual([
      ["static", "web", "52:54:00:88:88:88", "192.0.2.10", "vnet1", "active", ["fd00:0:0:6::1a2b"]],
      ["static", "db", "52:54:00:88:88:89", "192.0.2.11", null, "none", []],
      [
        "dynamic",
        null,
        "52:54:00:12:34:56",
        "192.0.2.150",
        "vnet2",
        "active",
        ["fd00:0:0:6::77", "fd00:0:0:6::5054:ff:fe12:3456", "fe80::5054:ff:fe12:3456"],
      ],
      ["dynamic", "forever", "52:54:00:aa:bb:cc", "192.0.2.151", null, "active", []],
      ["dynamic", "gone", "52:54:00:de:ad:00", "192.0.2.152", null, "expired", []],
      ["dynamic", "orphan", null, null, null, "active", ["fd00:0:0:6::99"]],
      ["seen", null, "52:54:00:00:00:77", null, null, "none", ["fd00:0:0:6::abcd"]],
    ]);
    expect(r.guests[2]!.ipv6.map((a) => a.source)).toEqual(["dhcpv6", "neighbour", "neighbour"]);
  });
  it("counts static hosts, active dynamic leases (not expired, not static), DHCPv6 leases and the pool", () => {
    expect(r.counts).toEqual({ static: 2, dynamic: 2, dhcpv6: 3, pool: 100 });
  });
  it("draws a table", () => {
    const lines = drawLeases(r, paint(false), now);
    expect(lines[0]).toBe("nat0 (bridge kvbr0): 2 static, 2 dynamic active, pool 100");
    expect(lines[1]).toMatch(/^ {2}KIND {5}NAME {5}MAC {16}IPV4 {9}TAP {4}EXPIRES/);
    expect(lines[2]).toMatch(
      /^ {2}static +web +52:54:00:88:88:88 +192\.0\.2\.10 +vnet1 +2025-11-23T03:53:20Z \(53m\) +01:52:54:00:88:88:88 +fd00:0:0:6::1a2b$/,
    );
    expect(lines[3]).toMatch(/ db .* no lease yet /);
    expect(lines[5]).toMatch(/ forever .* never /);
    expect(lines[6]).toMatch(/ gone .* expired /);
  });
});

describe("rule counters", () => {
  const config = parseConfig(
    "/etc/kvmnet.conf",
    "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n[iso]\nmode = isolated\nbridge = kviso\n",
  );
  const [nat0, iso] = config.networks;
  it("nft: the named counters of each network, null for a network without them", () => {
    const json = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"counter": {"family": "inet", "name": "from-nat0", "table": "kvmnet", "handle": 3, "packets": 7, "bytes": 588}}, {"counter": {"family": "inet", "name": "to-nat0", "table": "kvmnet", "handle": 4, "packets": 5, "bytes": 420}}, {"counter": {"family": "inet", "name": "cross-nat0", "table": "kvmnet", "handle": 5, "packets": 3, "bytes": 252}}, {"counter": {"family": "inet", "name": "nat-nat0", "table": "kvmnet", "handle": 5, "packets": 1, "bytes": 84}}, {"counter": {"family": "inet", "name": "reject-nat0", "table": "kvmnet", "handle": 6, "packets": 2, "bytes": 168}}]}`;
    const found = parseNftCounters(json);
    expect(nftRuleCounts(nat0!, found)).toEqual({
      from: { packets: 7, bytes: 588 },
      to: { packets: 5, bytes: 420 },
      cross: { packets: 3, bytes: 252 },
      nat: { packets: 1, bytes: 84 },
      reject: { packets: 2, bytes: 168 },
    });
    expect(nftRuleCounts(iso!, found)).toBeNull();
  });
  it("iptables: per-rule counters of kvmnet's chains summed by what the rule does", () => {
    const save = `# Generated by iptables-nft-save v1.8.9
*filter
:KVMNET-FWO-nat0 - [0:0]
:KVMNET-FWI-nat0 - [0:0]
[3:252] -A KVMNET-FWO-nat0 -o kvbr0 -j ACCEPT
[4:336] -A KVMNET-FWO-nat0 -s 192.0.2.0/24 -j KVMNET-PASS
[1:84] -A KVMNET-FWO-nat0 -j REJECT --reject-with icmp-port-unreachable
[5:420] -A KVMNET-FWI-nat0 -d 192.0.2.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[1:60] -A KVMNET-FWI-nat0 -j REJECT --reject-with icmp-port-unreachable
[9:900] -A KVMNET-FROM -i kvbr0 -j KVMNET-FWO-nat0
COMMIT
*nat
:KVMNET-PRT-nat0 - [0:0]
[2:120] -A KVMNET-PRT-nat0 -d 224.0.0.0/24 -j RETURN
[1:84] -A KVMNET-PRT-nat0 ! -d 192.0.2.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535
[1:84] -A KVMNET-PRT-nat0 ! -d 192.0.2.0/24 -j MASQUERADE
COMMIT
`;
    expect(iptablesRuleCounts(nat0!, save)).toEqual({
      from: { packets: 4, bytes: 336 },
      to: { packets: 5, bytes: 420 },
      cross: { packets: 3, bytes: 252 },
      nat: { packets: 2, bytes: 168 },
      reject: { packets: 2, bytes: 144 },
    });
    expect(iptablesRuleCounts(iso!, save)).toBeNull();
  });
});

describe("exposition format", () => {
  const tricky = 'a\\b "quoted"\nnext line';
  const text = exposition([
    {
      name: "kvmnet_test_total",
      help: "help with \\ and\nnewline",
      type: "counter",
      samples: [
        { labels: { network: tricky, interface: "vnet0" }, value: 12 },
        { labels: { network: "plain", interface: "" }, value: 0 },
      ],
    },
    { name: "kvmnet_empty", help: "left out", type: "gauge", samples: [] },
    { name: "kvmnet_up", help: "no labels", type: "gauge", samples: [{ labels: {}, value: 1 }] },
  ]);
  it("escapes backslash, double quote and line feed in label values (and HELP)", () => {
    expect(escapeLabel(tricky)).toBe('a\\\\b \\"quoted\\"\\nnext line');
    expect(text).toBe(
      [
        "# HELP kvmnet_test_total help with \\\\ and\\nnewline",
        "# TYPE kvmnet_test_total counter",
        'kvmnet_test_total{network="a\\\\b \\"quoted\\"\\nnext line",interface="vnet0"} 12',
        'kvmnet_test_total{network="plain",interface=""} 0',
        "# HELP kvmnet_up no labels",
        "# TYPE kvmnet_up gauge",
        "kvmnet_up 1",
        "",
      ].join("\n"),
    );
  });
  it("reads back with prometheus_client exactly as given", async () => {
    const fams = await parseExposition(text);
    expect(fams.map((f) => [f.name, f.type])).toEqual([
      ["kvmnet_test", "counter"],
      ["kvmnet_up", "gauge"],
    ]);
    expect(fams[0]!.samples[0]!.labels).toEqual({ network: tricky, interface: "vnet0" });
    expect(sampleValue(fams, "kvmnet_test_total", { network: tricky })).toBe(12);
  });
  it("refuses invalid metric and label names", () => {
    const bad = (name: string, label: string) =>
      exposition([{ name, help: "x", type: "gauge", samples: [{ labels: { [label]: "v" }, value: 1 }] }]);
    expect(() => bad("kvmnet-bad", "ok")).toThrow(/invalid metric name/);
    expect(() => bad("kvmnet_ok", "bad-label")).toThrow(/invalid label name/);
    expect(() => bad("kvmnet_ok", "__reserved")).toThrow(/invalid label name/);
  });
});

describe("metrics --listen", () => {
  it("takes loopback addresses, others only with --allow-remote", () => {
    expect(parseListen("127.0.0.1:9567", false)).toEqual({ host: "127.0.0.1", port: 9567 });
    expect(parseListen("[::1]:9567", false)).toEqual({ host: "::1", port: 9567 });
    expect(() => parseListen("192.0.2.1:9567", false)).toThrow(/not a loopback address; add --allow-remote/);
    expect(() => parseListen("0.0.0.0:9567", false)).toThrow(/not a loopback address/);
    expect(parseListen("0.0.0.0:9567", true)).toEqual({ host: "0.0.0.0", port: 9567 });
    expect(parseListen("[2001:db8::1]:80", true)).toEqual({ host: "2001:db8::1", port: 80 });
  });
  it("refuses what is not ADDR:PORT", () => {
    for (const bad of ["9567", "localhost:9567", "::1:9567", "127.0.0.1:0", "127.0.0.1:70000", "[127.0.0.1]:80"])
      expect(() => parseListen(bad, true), bad).toThrow(/--listen/);
  });
});
