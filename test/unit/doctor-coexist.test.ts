// The coexistence judgements on recorded files and tool output: ufw's state and the commands it needs per mode,
// drop chains in any iptables table and variant with the fix for the tool that shows them, and the once-only plan.
import { describe, expect, it } from "vitest";
import { fakeExec } from "../helpers/fake-exec.js";
import { parseIptablesForwardDrop, parseNftForwardDrops } from "../../src/coexist/forward-drop.js";
import { checkInputDrop } from "../../src/coexist/input-drop.js";
import { fromRulesets, seedRulesets } from "../../src/coexist/rulesets.js";
import type { DoctorContext } from "../../src/coexist/finding.js";
import { checkUfw, ufwCommands, ufwNeeds, ufwState } from "../../src/coexist/ufw.js";
import { parseConfig } from "../../src/config/validate.js";
import { coexistFindings, markerName, planWarnings } from "../../src/coexist/judge.js";

const conf = (global = "") =>
  parseConfig(
    "/c",
    `${global}
[nat0]
mode = nat
bridge = natbr0
address = 192.0.2.1/24
dhcp_range = 192.0.2.10,192.0.2.20
[r0]
mode = routed
bridge = rbr
address = 198.51.100.1/24
uplink = eth0
[iso]
mode = isolated
bridge = isobr
[lan]
mode = bridge
bridge = br0
`,
  );
const BRNF = "/proc/sys/net/bridge/bridge-nf-call-iptables";
const UFW_ON = { "/etc/ufw/ufw.conf": "ENABLED=yes\n", "/etc/default/ufw": 'DEFAULT_FORWARD_POLICY="DROP"\n' };
const noRulesets = { nft: null, iptables: null, legacy: null, iptablesIs: "nft" as const };
const ctx = (files: Record<string, string>, over: Partial<DoctorContext> = {}): DoctorContext =>
  seedRulesets(
    { config: conf(), env: { PATH: "/nonexistent" }, exec: fakeExec().exec, read: (p) => files[p] ?? null, ...over },
    noRulesets,
  );

describe("ufw", () => {
  it("is off without ufw.conf or with ENABLED=no; on with ENABLED=yes or its chains live; policies from the file or live", () => {
    expect(ufwState(() => null, [null])).toBeNull();
    expect(ufwState((p) => (p === "/etc/ufw/ufw.conf" ? "ENABLED=no\n" : null), [null])?.active).toBe(false);
    const files = (p: string) => (UFW_ON as Record<string, string>)[p] ?? null;
    expect(ufwState(files, [null])).toEqual({ active: true, forwardDrop: true, inputDrop: true, rules: [] });
    const live =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:ufw-user-input - [0:0]\n-A ufw-user-forward -i natbr0 -j ACCEPT\nCOMMIT\n";
    expect(ufwState(() => null, [null, live])).toEqual({
      active: true,
      forwardDrop: true,
      inputDrop: false,
      rules: ["-A ufw-user-forward -i natbr0 -j ACCEPT"],
    });
  });

  const state = { active: true, forwardDrop: true, inputDrop: true, rules: [] as string[] };
  const net = (name: string) => conf().networks.find((n) => n.name === name)!;
  const cmds = (name: string, brNf: boolean, rules: string[] = [], global = "") =>
    ufwCommands(ufwNeeds({ ...state, rules }, net(name), conf(global), brNf));

  it("names the ufw commands per mode: nat out; routed out and in (over its uplink); guest to guest with br_netfilter", () => {
    expect(cmds("nat0", false)).toEqual([
      "ufw allow in on natbr0 to any port 67 proto udp",
      "ufw allow in on natbr0 to any port 53",
      "ufw route allow in on natbr0",
    ]);
    expect(cmds("r0", true)).toEqual([
      "ufw route allow in on rbr out on eth0",
      "ufw route allow in on eth0 out on rbr",
      "ufw route allow in on rbr out on rbr",
    ]);
    expect(cmds("iso", false)).toEqual([]);
    expect(cmds("iso", true)).toEqual(["ufw route allow in on isobr out on isobr"]);
    expect(cmds("lan", true)).toEqual(["ufw route allow in on br0 out on br0"]);
  });

  it("counts the rules ufw writes (user.rules and live) and spares firewall = iptables, whose jumps come first", () => {
    const written = [
      "-A ufw-user-input -i natbr0 -p udp --dport 67 -j ACCEPT",
      "-A ufw-user-input -i natbr0 -p tcp -m tcp --dport 53 -j ACCEPT",
      "-A ufw-user-forward -i natbr0 -j ACCEPT",
    ];
    expect(cmds("nat0", false, written)).toEqual(["ufw allow in on natbr0 to any port 53 proto udp"]);
    expect(cmds("nat0", false, [...written, "-A ufw-user-input -i natbr0 -j ACCEPT"])).toEqual([]);
    expect(cmds("iso", true, ["-A ufw-user-forward -i isobr -j ACCEPT"])).toEqual([]);
    expect(cmds("iso", true, ["-A ufw-user-forward -o isobr -j ACCEPT"])).toEqual([]);
    expect(cmds("iso", true, ["-A ufw-user-forward -i isobr -o eth0 -j ACCEPT"])).toEqual([
      "ufw route allow in on isobr out on isobr",
    ]);
    expect(cmds("nat0", true, [], "[global]\nfirewall = iptables")).toEqual([]);
    expect(cmds("lan", true, [], "[global]\nfirewall = iptables")).toEqual(["ufw route allow in on br0 out on br0"]);
  });

  it("the doctor finding: fail with the networks and every command, ok when ufw lets them through", () => {
    const f = checkUfw(ctx({ ...UFW_ON, [BRNF]: "0\n" }));
    expect(f).toMatchObject({ id: "ufw", level: "fail", networks: ["nat0", "r0"] });
    expect(f.fix).toMatch(
      /: ufw allow in on natbr0 to any port 67 proto udp; .*; ufw route allow in on eth0 out on rbr$/,
    );
    const open = { ...UFW_ON, "/etc/default/ufw": 'DEFAULT_FORWARD_POLICY="ACCEPT"\nDEFAULT_INPUT_POLICY="ACCEPT"\n' };
    expect(checkUfw(ctx(open)).level).toBe("ok");
  });
});

describe("drop chains in every table and variant", () => {
  it("finds FORWARD DROP in mangle too (not nat, which cannot drop), skipping the tables ufw manages", () => {
    const text =
      "*mangle\n:FORWARD DROP [0:0]\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n:ufw-user-forward - [0:0]\nCOMMIT\n";
    expect(parseIptablesForwardDrop(text)).toEqual([{ family: "ip", table: "mangle", chain: "FORWARD", accepts: [] }]);
    const nft =
      "table ip filter {\n\tchain ufw-user-forward {\n\t}\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n";
    expect(parseNftForwardDrops(nft)).toEqual([]);
  });

  it("counts tagged accepts (a comment naming the network) as letting the bridge through", () => {
    const ipt =
      '*filter\n:FORWARD DROP [0:0]\n-A DOCKER-USER -i natbr0 -m comment --comment "kvmnet nat0" -j ACCEPT\n-A DOCKER-USER -o natbr0 -m comment --comment "kvmnet nat0" -j ACCEPT\nCOMMIT\n';
    expect(parseIptablesForwardDrop(ipt)[0]!.accepts).toEqual(["in:natbr0", "out:natbr0"]);
    const nft =
      'table inet fw {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tiifname "natbr0" accept comment "kvmnet nat0"\n\t}\n}\n';
    expect(parseNftForwardDrops(nft)[0]!.accepts).toEqual(["in:natbr0"]);
  });

  it("keeps a chain iptables-nft made once, as iptables shows it; legacy ones apart, fixed with iptables-legacy", () => {
    const ipt = "*filter\n:INPUT DROP [0:0]\nCOMMIT\n";
    const nft =
      "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n";
    const c = seedRulesets(
      { config: conf(), env: {}, exec: fakeExec().exec, read: () => null },
      { nft, iptables: ipt, legacy: ipt, iptablesIs: "nft" },
    );
    const found = checkInputDrop(c);
    expect(found.map((f) => f.fix!.split(": ")[1]!.split("; ")[0])).toEqual([
      "iptables -I INPUT -i natbr0 -p udp -m multiport --dports 53,67 -j ACCEPT",
      "iptables-legacy -I INPUT -i natbr0 -p udp -m multiport --dports 53,67 -j ACCEPT",
    ]);
    // Where plain iptables is the legacy one, that is the chain kvmnet's firewall = iptables jumps from.
    const legacyHost = seedRulesets(
      { config: conf("[global]\nfirewall = iptables"), env: {}, exec: fakeExec().exec, read: () => null },
      { nft: null, iptables: null, legacy: ipt, iptablesIs: "legacy" },
    );
    expect(checkInputDrop(legacyHost).map((f) => f.level)).toEqual(["ok"]);
    expect(fromRulesets(legacyHost, { nft: () => [], iptables: () => [] })).toEqual([]);
  });
});

describe("once-only warnings", () => {
  it("judge one network from files alone (coexistFindings takes no executor) and only what breaks it", () => {
    const config = conf();
    const nat0 = config.networks[0]!;
    const view = { files: { ...UFW_ON, [BRNF]: "1\n" }, rulesets: null };
    const found = coexistFindings(config, nat0, view);
    expect(found.map((f) => [f.id, f.networks])).toEqual([["ufw", ["nat0"]]]);
    expect(found[0]!.message).not.toMatch(/r0/);
    expect(coexistFindings(config, nat0, { files: {}, rulesets: null })).toEqual([]);
  });

  it("says what has no marker, removes the markers of findings judged and gone, keeps those not judged", () => {
    const f = { id: "ufw", level: "fail" as const, message: "m", fix: "x", networks: ["n"] };
    const name = markerName("n", f);
    expect(name).toMatch(/^n\.coexist\.ufw\.[0-9a-f]{12}$/);
    expect(planWarnings("n", [f], [], ["ufw"])).toEqual({ say: [{ name, finding: f }], remove: [] });
    expect(planWarnings("n", [f], [name], ["ufw"])).toEqual({ say: [], remove: [] });
    const old = "n.coexist.forward-drop.0123456789ab";
    expect(planWarnings("n", [], [name, old], ["ufw"])).toEqual({ say: [], remove: [name] });
    expect(planWarnings("n", [], [name, old], ["ufw", "forward-drop"]).remove).toEqual([name, old]);
    // What it says changed: a new marker, and the old one goes.
    const g = { ...f, fix: "y" };
    expect(planWarnings("n", [g], [name], ["ufw"])).toEqual({
      say: [{ name: markerName("n", g), finding: g }],
      remove: [name],
    });
  });
});
