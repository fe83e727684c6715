// port_isolation and rate: the keys' values and errors (at their FILE:LINE), and the steps decided from an
// observation of the taps (pure: no host).
import { describe, expect, it } from "vitest";
import { parseRateValue, portPolicy, showRate } from "../../src/config/policy-keys.js";
import { parseConfig } from "../../src/config/validate.js";
import { attachWithPolicy, portPolicyUpSteps } from "../../src/decide/ports-steps.js";
import { showStep } from "../../src/core/steps.js";
import type { PortsObserved } from "../../src/observe/ports-state.js";
import { tapShape } from "../../src/observe/ports-state.js";
import { problems } from "../helpers/problems.js";

const NAT = "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n";
const net = (extra: string) => parseConfig("f", NAT + extra).networks[0]!;

describe("rate values", () => {
  it.each([
    ["100mbit", { down: 100e6, up: 100e6 }],
    ["100mbit/20mbit", { down: 100e6, up: 20e6 }],
    ["1.5Gbit/512kbit", { down: 1.5e9, up: 512e3 }],
    ["none/20mbit", { down: null, up: 20e6 }],
    ["20000bit", { down: 20000, up: 20000 }],
  ])("%s", (text, want) => {
    expect(parseRateValue(text)).toEqual(want);
  });

  it.each([
    ["100", "has no unit"],
    ["100mbps", "kvmnet takes bits per second"],
    ["100MB", "kvmnet takes bits per second"],
    ["100furlongs", "is not a unit"],
    ["fast", "is not a rate"],
    ["1/2/3", "is not RATE or DOWNLOAD/UPLOAD"],
    ["1kbit", "below the least rate"],
  ])("%s is refused: %s", (text, why) => {
    expect(parseRateValue(text)).toContain(why);
  });

  it("is shown in tc's units", () => {
    expect([20e6, 1.5e9, 512e3, 8001].map(showRate)).toEqual(["20mbit", "1.5gbit", "512kbit", "8001bit"]);
  });
});

describe("config keys", () => {
  it("takes the network's keys and each tap's own", () => {
    const n = net("port_isolation = yes\nrate = 100mbit/20mbit\ntap.web0.rate = none\ntap.db.port_isolation = no\n");
    expect(n.policy).toEqual({
      isolated: true,
      rate: { down: 100e6, up: 20e6 },
      taps: { web0: { rate: { down: null, up: null } }, db: { isolated: false } },
    });
    expect(portPolicy(n.policy, "vnet3")).toEqual({ isolated: true, rate: { down: 100e6, up: 20e6 } });
    expect(portPolicy(n.policy, "web0")).toEqual({ isolated: true, rate: null });
    expect(portPolicy(n.policy, "db")).toEqual({ isolated: false, rate: { down: 100e6, up: 20e6 } });
    expect(net("").policy).toBeUndefined();
  });

  it("names FILE:LINE and the key of each bad value", () => {
    expect(
      problems(NAT + "rate = 100mbps\ntap.vm0.rate = 5\nport_isolation = maybe\ntap.x.port_isolation = 2\n"),
    ).toEqual([
      '5: rate: "100mbps": kvmnet takes bits per second (kbit, mbit, gbit); tc\'s mbps means bytes',
      '6: tap.vm0.rate: "5" has no unit: say bit, kbit, mbit or gbit (bits per second)',
      '7: port_isolation: "maybe" is not yes or no',
      '8: tap.x.port_isolation: "2" is not yes or no',
    ]);
  });

  it("refuses the keys on bridge mode, a bad tap name, and isolation across hosts", () => {
    expect(problems("[lan]\nmode = bridge\nbridge = br0\nport_isolation = yes\ntap.vm0.rate = 1mbit\n")).toEqual([
      "4: port_isolation: not used by mode bridge (only by nat, routed, host-only, isolated)",
      "5: tap.vm0.rate: not used by mode bridge (only by nat, routed, host-only, isolated)",
    ]);
    expect(problems(NAT + "tap.much-too-long-name.rate = 1mbit\n")[0]).toMatch(
      /^5: tap.much-too-long-name.rate: tap name "much-too-long-name" is 18 characters/,
    );
    const vx = "[iso]\nmode = isolated\nbridge = kvbr1\nvxlan_id = 42\nvxlan_dev = lo\nvxlan_peers = 192.0.2.7\n";
    expect(problems(vx + "port_isolation = yes\n")).toContain(
      "7: port_isolation: not on a network across hosts (vxlan_id): guests on other hosts would still reach them",
    );
  });
});

const obs = (over: Partial<PortsObserved> = {}): PortsObserved => ({
  ports: {
    vm0: { ifindex: 7, isolated: false, alias: "" },
    vm1: { ifindex: 8, isolated: true, alias: "kvmnet-rate:20000000/20000000" },
  },
  shape: {},
  ifbs: [],
  fqCodel: false,
  ...over,
});
const shown = (steps: ReturnType<typeof portPolicyUpSteps>) => steps.map(showStep).join("\n");

describe("steps", () => {
  it("flags only the ports whose flag differs", () => {
    const n = net("port_isolation = yes\n");
    expect(shown(portPolicyUpSteps(n, obs(), ["vm0", "vm1"]))).toBe(
      "ip link set dev vm0 type bridge_slave isolated on",
    );
    expect(shown(portPolicyUpSteps(net(""), obs(), ["vm0", "vm1"]))).toBe(
      "ip link set dev vm1 type bridge_slave isolated off",
    );
  });

  it("shapes a new tap's download, makes its IFB and redirect, then records the limits", () => {
    const n = net("rate = 20mbit/10mbit\n");
    const o = obs({ shape: { vm0: { down: null, redirect: null } }, fqCodel: true });
    const steps = attachWithPolicy(n, o, "vm0", ["link set dev vm0 mtu 1500 master kvbr0 up"]);
    expect(shown(steps)).toBe(`ip -batch - <<'EOF'
link add name kvi7 type ifb
link set dev kvi7 alias kvmnet:nat0:vm0
link set dev kvi7 up
EOF
tc -batch - <<'EOF'
qdisc replace dev vm0 root handle 4b56: tbf rate 20000000bit burst 32768 latency 50ms
qdisc replace dev vm0 parent 4b56:1 handle 4b57: fq_codel
qdisc replace dev kvi7 root handle 4b56: tbf rate 10000000bit burst 32768 latency 50ms
qdisc replace dev kvi7 parent 4b56:1 handle 4b57: fq_codel
qdisc replace dev vm0 clsact
filter add dev vm0 ingress pref 19286 protocol all u32 match u32 0 0 action mirred egress redirect dev kvi7
EOF
ip link set dev vm0 alias kvmnet-rate:20000000/10000000
ip link set dev vm0 mtu 1500 master kvbr0 up`);
  });

  it("an isolated tap joins the bridge down, is flagged, then comes up", () => {
    const steps = attachWithPolicy(net("port_isolation = yes\n"), obs(), "vm0", ["link set dev vm0 master kvbr0 up"]);
    expect(shown(steps)).toBe(`ip -batch - <<'EOF'
link set dev vm0 master kvbr0
link set dev vm0 type bridge_slave isolated on
link set dev vm0 up
EOF`);
  });

  it("nothing when the limits are as wanted; a changed rate replaces the shaper only; lifted limits go", () => {
    const n = net("rate = 20mbit\n");
    const inPlace = obs({
      shape: { vm1: { down: { bits: 20e6, fqCodel: false }, redirect: "kvi8" } },
      ifbs: [{ name: "kvi8", tap: "vm1", bits: 20e6 }],
    });
    const only1 = { ...inPlace, ports: { vm1: { ...inPlace.ports.vm1!, isolated: false } } };
    expect(portPolicyUpSteps(n, only1, ["vm1"])).toEqual([]);
    expect(shown(portPolicyUpSteps(net("rate = 20mbit/8mbit\n"), only1, ["vm1"]))).toBe(`tc -batch - <<'EOF'
qdisc replace dev kvi8 root handle 4b56: tbf rate 8000000bit burst 32768 latency 50ms
EOF
ip link set dev vm1 alias kvmnet-rate:20000000/8000000`);
    expect(shown(portPolicyUpSteps(net(""), only1, ["vm1"]))).toBe(`tc -batch - <<'EOF'
qdisc del dev vm1 root handle 4b56:
filter del dev vm1 ingress pref 19286
EOF
ip -batch - <<'EOF'
link delete dev kvi8
link set dev vm1 alias kvmnet-rate:0/0
EOF`);
  });

  it("removes IFBs whose tap is gone", () => {
    const o = obs({ ifbs: [{ name: "kvi99", tap: "vm9", bits: 1e6 }] });
    expect(shown(portPolicyUpSteps(net(""), o, ["vm0", "vm1"]))).toContain("link delete dev kvi99");
  });

  it("reads kvmnet's shaper and redirect from tc's JSON", () => {
    const qdiscs = [
      { kind: "tbf", handle: "4b56:", dev: "vm0", root: true, options: { rate: 2500000 } },
      { kind: "fq_codel", handle: "4b57:", dev: "vm0", parent: "4b56:1" },
      { kind: "tbf", handle: "1:", dev: "vm1", root: true, options: { rate: 2500000 } },
    ];
    const filters = [
      { pref: 19286, kind: "u32" },
      { pref: 19286, kind: "u32", options: { actions: [{ kind: "mirred", to_dev: "kvi7" }] } },
    ];
    expect(tapShape("vm0", qdiscs, filters)).toEqual({ down: { bits: 20e6, fqCodel: true }, redirect: "kvi7" });
    expect(tapShape("vm1", qdiscs, [])).toEqual({ down: null, redirect: null });
  });
});
