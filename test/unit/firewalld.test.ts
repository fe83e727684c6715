// kvmnet's firewalld zones: which zone each mode gets, the files as rendered, and the steps decided from what was
// found (files, the admin's zones, the runtime binding), up and down. The files' exact form (firewalld's own
// writer) is checked against the real firewalld in test/netns/firewalld.test.ts.
import { describe, expect, it } from "vitest";
import { parseNftDrops } from "../../src/coexist/rulesets.js";
import { parseConfig } from "../../src/config/validate.js";
import type { Network } from "../../src/config/types.js";
import { firewalldDownSteps, firewalldUpSteps } from "../../src/decide/firewalld-steps.js";
import { showStep } from "../../src/core/steps.js";
import { firewalldLookWanted, type FirewalldState } from "../../src/observe/firewalld-state.js";
import {
  KVMNET_ZONES,
  renderPolicies,
  renderZone,
  zoneDefinition,
  zoneInterfaces,
  zoneOf,
  zonePath,
} from "../../src/render/firewalld-zones.js";

const config = parseConfig(
  "/c",
  `[nat0]
mode = nat
bridge = natbr0
address = 192.0.2.1/24
[r0]
mode = routed
bridge = rbr0
address = 198.51.100.1/24
[h0]
mode = host-only
bridge = hobr
address = 203.0.113.1/24
[iso]
mode = isolated
bridge = isobr
[lan]
mode = bridge
bridge = br0
`,
);
const net = (name: string): Network => config.networks.find((n) => n.name === name)!;
// nat0 as it is after its section changed to mode = routed (same bridge).
const natNowRouted: Network = { ...net("r0"), bridge: "natbr0" };

/** Every kvmnet file as rendered, zone kvmnet binding IFACES. */
function current(ifaces: Record<string, string[]> = {}): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  for (const z of KVMNET_ZONES) files[zonePath(z)] = renderZone(z, ifaces[z] ?? []);
  for (const p of renderPolicies()) files[p.path] = p.content;
  return files;
}

const state = (s: Partial<FirewalldState>): FirewalldState => ({ files: current(), foreign: null, runtime: [], ...s });
const shown = (steps: ReturnType<typeof firewalldUpSteps>) => steps.map(showStep);

describe("firewalld zones", () => {
  it("each mode's zone; bridge mode none", () => {
    expect(["nat0", "r0", "h0", "iso", "lan"].map((n) => zoneOf(net(n)))).toEqual([
      "kvmnet",
      "kvmnet-routed",
      "kvmnet-local",
      "kvmnet-local",
      null,
    ]);
  });

  it("zone files: interfaces read back; the definition is the file without them", () => {
    const z = renderZone("kvmnet", ["a", "b", "a"]);
    expect(zoneInterfaces(z)).toEqual(["a", "b"]);
    expect(zoneDefinition(z)).toBe(renderZone("kvmnet", []));
    expect(renderZone("kvmnet", [])).toMatch(/^<\?xml[^\n]*\n<zone target="ACCEPT">\n {2}<short>kvmnet<\/short>\n/);
    expect(renderZone("kvmnet-local", ["x"])).toMatch(/<interface name="x"\/>\n {2}<forward\/>\n<\/zone>\n$/);
    expect(renderPolicies().map((p) => p.path)).toEqual([
      "/etc/firewalld/policies/kvmnet-routed-in.xml",
      "/etc/firewalld/policies/kvmnet-routed-out.xml",
      "/etc/firewalld/policies/kvmnet-to-host.xml",
    ]);
  });
});

describe("firewalld steps", () => {
  it("not running, or bridge mode: nothing", () => {
    expect(firewalldUpSteps(net("nat0"), null)).toEqual([]);
    expect(firewalldDownSteps(net("nat0"), null)).toEqual([]);
    expect(firewalldUpSteps(net("lan"), state({ files: {} }))).toEqual([]);
  });

  it("no zone files yet: all written, the bridge bound in its zone's file, then one reload", () => {
    const files = Object.fromEntries(Object.keys(current()).map((p) => [p, null]));
    const steps = firewalldUpSteps(net("nat0"), state({ files, runtime: null }));
    expect(steps.map((s) => (s.kind === "write" ? s.path : showStep(s)))).toEqual([
      "/etc/firewalld/zones/kvmnet.xml",
      "/etc/firewalld/zones/kvmnet-routed.xml",
      "/etc/firewalld/zones/kvmnet-local.xml",
      "/etc/firewalld/policies/kvmnet-routed-in.xml",
      "/etc/firewalld/policies/kvmnet-routed-out.xml",
      "/etc/firewalld/policies/kvmnet-to-host.xml",
      "firewall-cmd --reload",
      "firewall-cmd --permanent --zone=kvmnet --add-interface=natbr0",
      "firewall-cmd --zone=kvmnet --change-interface=natbr0",
    ]);
    expect(steps[0]).toEqual({ kind: "write", path: zonePath("kvmnet"), content: renderZone("kvmnet", ["natbr0"]) });
  });

  it("an outdated zone definition is rewritten with the interfaces it bound, and reloaded", () => {
    const files = current({ kvmnet: ["other0"] });
    files[zonePath("kvmnet")] = files[zonePath("kvmnet")]!.replace('<service name="dns"/>\n', "");
    const steps = firewalldUpSteps(net("nat0"), state({ files, runtime: ["other0"] }));
    expect(steps).toEqual([
      { kind: "write", path: zonePath("kvmnet"), content: renderZone("kvmnet", ["other0", "natbr0"]) },
      { kind: "firewall-cmd", args: ["--reload"] },
      { kind: "firewall-cmd", args: ["--permanent", "--zone=kvmnet", "--add-interface=natbr0"] },
      { kind: "firewall-cmd", args: ["--zone=kvmnet", "--change-interface=natbr0"] },
    ]);
  });

  it("files current: bound permanently and at runtime by firewall-cmd, no reload; in place: nothing", () => {
    expect(shown(firewalldUpSteps(net("nat0"), state({ runtime: ["other0"] })))).toEqual([
      "firewall-cmd --permanent --zone=kvmnet --add-interface=natbr0",
      "firewall-cmd --zone=kvmnet --change-interface=natbr0",
    ]);
    // After a reload firewalld restores the permanent binding: only the runtime one is missing before that.
    const bound = current({ kvmnet: ["natbr0"] });
    expect(shown(firewalldUpSteps(net("nat0"), state({ files: bound, runtime: [] })))).toEqual([
      "firewall-cmd --zone=kvmnet --change-interface=natbr0",
    ]);
    expect(firewalldUpSteps(net("nat0"), state({ files: bound, runtime: ["natbr0"] }))).toEqual([]);
  });

  it("firewalld does not know the zone although the files are current (a reload was cut off): reload", () => {
    const bound = current({ kvmnet: ["natbr0"] });
    expect(shown(firewalldUpSteps(net("nat0"), state({ files: bound, runtime: null })))).toEqual([
      "firewall-cmd --reload",
      "firewall-cmd --permanent --zone=kvmnet --add-interface=natbr0",
      "firewall-cmd --zone=kvmnet --change-interface=natbr0",
    ]);
  });

  it("the network changed mode (nat to routed): out of kvmnet's nat zone, into kvmnet-routed", () => {
    const files = current({ kvmnet: ["natbr0", "b2"] });
    expect(shown(firewalldUpSteps(natNowRouted, state({ files, runtime: [] })))).toEqual([
      "firewall-cmd --permanent --zone=kvmnet --remove-interface=natbr0",
      "firewall-cmd --permanent --zone=kvmnet-routed --add-interface=natbr0",
      "firewall-cmd --zone=kvmnet-routed --change-interface=natbr0",
    ]);
  });

  it("an admin's zone binds the bridge: left as the admin chose", () => {
    expect(firewalldUpSteps(net("h0"), state({ foreign: "trusted", runtime: [] }))).toEqual([]);
  });

  it("down: out of every kvmnet zone that binds it, and out of the runtime zone; the files stay", () => {
    const files = current({ kvmnet: ["natbr0", "b2"] });
    expect(shown(firewalldDownSteps(net("nat0"), state({ files, runtime: ["natbr0", "b2"] })))).toEqual([
      "firewall-cmd --permanent --zone=kvmnet --remove-interface=natbr0",
      "firewall-cmd --zone=kvmnet --remove-interface=natbr0",
    ]);
    expect(firewalldDownSteps(net("nat0"), state({ runtime: ["b2"] }))).toEqual([]);
  });
});

describe("when kvmnet looks at firewalld", () => {
  const bridge = { name: "natbr0", ports: ["vm0"] } as unknown as Parameters<typeof firewalldLookWanted>[2];
  it("up/down always; a hook only when the bridge or the firewall is being made, or for a when-idle teardown", () => {
    const nat0 = net("nat0");
    expect(firewalldLookWanted(nat0, { action: "up" }, bridge, false)).toBe(true);
    expect(firewalldLookWanted(nat0, { action: "down" }, bridge, false)).toBe(true);
    expect(firewalldLookWanted(nat0, { action: "attach", tap: "vm1" }, bridge, false)).toBe(false);
    expect(firewalldLookWanted(nat0, { action: "attach", tap: "vm1" }, null, false)).toBe(true);
    expect(firewalldLookWanted(nat0, { action: "attach", tap: "vm1" }, bridge, true)).toBe(true);
    expect(firewalldLookWanted(nat0, { action: "detach", tap: "vm0" }, bridge, false)).toBe(false);
    const idle = { ...nat0, teardown: "when-idle" as const };
    expect(firewalldLookWanted(idle, { action: "detach", tap: "vm0" }, bridge, false)).toBe(true);
    expect(firewalldLookWanted(net("lan"), { action: "up" }, bridge, false)).toBe(false);
  });
});

describe("firewalld's drop-all table during a reload", () => {
  // The chains firewalld 1.3 had there when a kvmnet hook read the ruleset during a reload (rules abridged).
  const during = `table inet firewalld_policy_drop {
	chain filter_input {
		type filter hook input priority filter + 9; policy drop;
		ct state { established, related } accept
	}

	chain filter_forward {
		type filter hook forward priority filter + 9; policy drop;
		ct state { established, related } accept
	}
}
`;
  it("is no foreign drop (another table with the same chains is)", () => {
    expect(parseNftDrops(during, "forward", () => null)).toEqual([]);
    expect(parseNftDrops(during, "input", () => null)).toEqual([]);
    const other = during.replace("firewalld_policy_drop", "mine");
    expect(parseNftDrops(other, "forward", () => null)).toMatchObject([{ table: "mine", chain: "filter_forward" }]);
  });
});
