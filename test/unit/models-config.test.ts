// The non-NAT models in pure code: config keys they add (@default-route, vlan without uplink), and the
// decisions that differ from NAT (no IPv6 on closed bridges, host ports not counted as VMs).
import { describe, expect, it } from "vitest";
import { problems } from "../helpers/problems.js";
import { parseConfig } from "../../src/config/validate.js";
import { decideDown, decideNetworkUp } from "../../src/decide/network-steps.js";
import { raOffSteps } from "../../src/decide/ra.js";
import type { Observed } from "../../src/observe/snapshot.js";
import { defaultRouteDevices } from "../../src/observe/default-route.js";
import { parseRoutes } from "../../src/observe/routes.js";
import { bridgeMac } from "../../src/core/names.js";

describe("config of the bridge models", () => {
  it("bridge = @default-route is accepted for mode bridge only, and alone", () => {
    expect(problems("[lan]\nmode = bridge\nbridge = @default-route\n")).toEqual([]);
    expect(problems("[n]\nmode = isolated\nbridge = @default-route\n")).toEqual([
      "3: bridge: @default-route is only for mode = bridge (a isolated network needs a bridge of its own)",
    ]);
    expect(problems("[lan]\nmode = bridge\nbridge = @default-route\nuplink = eth0\n")).toEqual([
      "3: bridge: @default-route attaches to an existing bridge: it takes no uplink or vlan",
    ]);
  });

  it("vlan takes a trunk, not an uplink", () => {
    expect(problems("[v]\nmode = bridge\nbridge = brv\nvlan = 10\ntrunk = eth0\nuplink = eth1\n")).toEqual([
      "6: uplink: not used with vlan: trunk names the NIC, and the bridge carries TRUNK.VLAN",
    ]);
  });
});

const config = parseConfig(
  "/etc/kvmnet.conf",
  `[iso]
mode = isolated
bridge = kviso
teardown = when-idle
[nat0]
mode = nat
bridge = kvnat
address = 192.0.2.1/24
[v]
mode = bridge
bridge = brv
vlan = 10
trunk = eth0
teardown = when-idle
`,
);
const [iso, nat, vlan] = config.networks as [
  (typeof config.networks)[0],
  (typeof config.networks)[0],
  (typeof config.networks)[0],
];
const link = (name: string, extra: object = {}) => ({
  name,
  isBridge: false,
  master: null,
  mtu: 1500,
  up: true,
  mac: "02:00:00:00:00:01",
  ports: [],
  ...extra,
});
const obs = (extra: Partial<Observed> = {}): Observed => ({
  hostName: "h1",
  bridge: null,
  bridgeAddrs: [],
  tap: null,
  forwarding: false,
  firewall: null,
  dnsmasq: null,
  strays: [],
  portMtus: {},
  csum: { supported: false, has: null },
  ipv6: null,
  mode: { ipv6: true, bridgeIpv6Off: null },
  ...extra,
});

describe("decisions of the non-NAT models", () => {
  it("an isolated bridge gets IPv6 off when made, and only until it is off", () => {
    const made = decideNetworkUp(config, iso, obs());
    expect(made.filter((s) => s.kind === "sysctl" && s.path.endsWith("/disable_ipv6"))).toEqual([
      { kind: "sysctl", path: "/proc/sys/net/ipv6/conf/kviso/disable_ipv6", value: "1" },
    ]);
    const bridge = link("kviso", { isBridge: true });
    expect(decideNetworkUp(config, iso, obs({ bridge, mode: { ipv6: true, bridgeIpv6Off: true } }))).toEqual([]);
    expect(decideNetworkUp(config, iso, obs({ bridge, mode: { ipv6: true, bridgeIpv6Off: false } }))).toHaveLength(1);
    expect(
      decideNetworkUp(config, iso, obs({ mode: { ipv6: false, bridgeIpv6Off: null } })).filter(
        (s) => s.kind === "sysctl",
      ),
    ).toEqual([]);
  });

  it("NAT keeps IPv6 on its bridge: of the IPv6 sysctls it gets only the RA ones", () => {
    const noIpv6 = { ipv6: false, bridgeIpv6Off: null };
    const six = (mode?: Observed["mode"]) =>
      decideNetworkUp(config, nat, obs(mode ? { mode } : {})).filter(
        (s) => s.kind === "sysctl" && s.path.includes("ipv6"),
      );
    expect(six(noIpv6)).toEqual([]);
    expect(six().map((s) => (s.kind === "sysctl" ? s.path.split("/").pop() : ""))).toEqual(["accept_ra", "autoconf"]);
  });

  it("kvmnet's own bridges take no router advertisements; bridge mode's are left as they are", () => {
    const member = parseConfig(
      "/etc/kvmnet.conf",
      "[m]\nmode = nat\nbridge = kvm\naddress = 192.0.2.1/24\n" +
        "role = member\nvxlan_id = 7\nvxlan_dev = eth1\nvxlan_peers = 198.51.100.9\n",
    ).networks[0]!;
    const ra = (path: string) => ({ kind: "sysctl", path, value: "0" });
    const want = (br: string) => [
      ra(`/proc/sys/net/ipv6/conf/${br}/accept_ra`),
      ra(`/proc/sys/net/ipv6/conf/${br}/autoconf`),
    ];
    for (const [n, br] of [
      [iso, "kviso"],
      [nat, "kvnat"],
      [member, "kvm"],
    ] as const) {
      expect(raOffSteps(n, null, { ipv6: true, bridgeIpv6Off: null })).toEqual(want(br));
      expect(
        raOffSteps(n, link(br, { isBridge: true }), {
          ipv6: true,
          bridgeIpv6Off: false,
          bridgeAcceptRa: "1",
          bridgeAutoconf: "1",
        }),
      ).toEqual(want(br));
      expect(
        raOffSteps(n, link(br, { isBridge: true }), {
          ipv6: true,
          bridgeIpv6Off: false,
          bridgeAcceptRa: "0",
          bridgeAutoconf: "1",
        }),
      ).toEqual(want(br).slice(1));
      expect(
        raOffSteps(n, link(br, { isBridge: true }), {
          ipv6: true,
          bridgeIpv6Off: false,
          bridgeAcceptRa: "0",
          bridgeAutoconf: "0",
        }),
      ).toEqual([]);
      expect(raOffSteps(n, null, { ipv6: false, bridgeIpv6Off: null })).toEqual([]);
    }
    expect(member.mode).toBe("isolated");
    // Bridge mode: the admin's bridge, or one built over the uplink that carries the host's own address; a VLAN
    // bridge kvmnet did not make (its MAC is not kvmnet's). A VLAN bridge kvmnet makes, or made, takes none.
    const lan = parseConfig("/etc/kvmnet.conf", "[lan]\nmode = bridge\nbridge = br0\n").networks[0]!;
    expect(
      raOffSteps(lan, link("br0", { isBridge: true }), { ipv6: true, bridgeIpv6Off: false, bridgeAcceptRa: "1" }),
    ).toEqual([]);
    const theirs = link("brv", { isBridge: true, mac: "02:00:00:00:00:01" });
    expect(raOffSteps(vlan, theirs, { ipv6: true, bridgeIpv6Off: false, bridgeAcceptRa: "1" })).toEqual([]);
    expect(raOffSteps(vlan, null, { ipv6: true, bridgeIpv6Off: null })).toEqual(want("brv"));
    const ours = { ...theirs, mac: bridgeMac(vlan, "") };
    const seen = { ipv6: true, bridgeIpv6Off: false, bridgeAcceptRa: "1", bridgeAutoconf: "0" };
    expect(raOffSteps(vlan, ours, seen)).toEqual(want("brv").slice(0, 1));
  });

  it("the VLAN port is the host's: the last VM leaving tears the VLAN network down, VLAN device included", () => {
    const bridge = link("brv", { isBridge: true, mac: "00:00:00:00:00:00", ports: ["eth0.10", "vm1"] });
    const port = { link: link("eth0.10", { master: "brv" }), vid: 10, lower: "eth0", alias: "kvmnet:v" };
    const steps = decideDown(
      config,
      vlan,
      obs({ bridge, tap: link("vm1", { master: "brv" }), mode: { ipv6: true, bridgeIpv6Off: false, vlanPort: port } }),
      "vm1",
    );
    // Not kvmnet's bridge (MAC): detach only, delete nothing.
    expect(steps).toEqual([{ kind: "ip", lines: ["link set dev vm1 nomaster"] }]);
    const ours = { ...bridge, mac: bridgeMac(vlan, "h1") };
    const mode = { ipv6: true, bridgeIpv6Off: false, vlanPort: port };
    expect(decideDown(config, vlan, obs({ bridge: ours, tap: link("vm1", { master: "brv" }), mode }), "vm1")).toEqual([
      { kind: "ip", lines: ["link set dev vm1 nomaster"] },
      { kind: "ip", lines: ["link delete dev brv", "link delete dev eth0.10"] },
    ]);
    // A VLAN device kvmnet did not make (no alias of ours) stays.
    const theirs = { ...mode, vlanPort: { ...port, alias: "" } };
    expect(
      decideDown(config, vlan, obs({ bridge: ours, tap: link("vm1", { master: "brv" }), mode: theirs }), "vm1")[1],
    ).toEqual({ kind: "ip", lines: ["link delete dev brv"] });
    // Another VM still on it: nothing torn down.
    const busy = { ...ours, ports: ["eth0.10", "vm1", "vm2"] };
    expect(
      decideDown(config, vlan, obs({ bridge: busy, tap: link("vm1", { master: "brv" }), mode }), "vm1"),
    ).toHaveLength(1);
  });
});

describe("@default-route", () => {
  it("takes the devices of the default routes in table order", () => {
    const text = [
      "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
      "br0\t00000000\t0100A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0",
      "br0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    ].join("\n");
    expect(defaultRouteDevices(parseRoutes(text))).toEqual(["eth0", "br0"]);
  });
});
