// The FORWARD order of the iptables backend (issue 9 #3): every forward-in jump before every forward-out jump,
// kept when adding a network's jumps and repaired when found broken.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { firewallUpSteps } from "../../src/decide/firewall.js";
import { forwardJumps, parseIptablesSave } from "../../src/observe/firewall.js";
import { forwardOrderBroken, iptablesUpScript, jumpKey, renderIptables } from "../../src/render/iptables.js";
import { iptablesChains } from "../../src/render/names.js";

const config = parseConfig("/etc/kvmnet.conf", "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n");
const nat0 = config.networks[0]!;
const all = (t: ReturnType<typeof renderIptables>) => new Set(t.flatMap((x) => x.jumps.map(([b, c]) => jumpKey(b, c))));
const fwd = (script: string) => script.split("\n").filter((l) => /^-[DI] FORWARD/.test(l));
const [I, O] = ["KVMNET-FWI-", "KVMNET-FWO-"];

describe("forwardOrderBroken", () => {
  it.each([
    [[], false],
    [[`${I}a`, `${I}b`, `${O}a`, `${O}b`], false],
    [["DOCKER-USER", `${I}a`, "", `${O}a`, "DOCKER-FORWARD"], false],
    [[`${I}a`, `${O}a`, `${I}b`, `${O}b`], true],
    [[`${O}a`, `${I}a`], true],
  ])("%j: %s", (jumps, broken) => {
    expect(forwardOrderBroken(jumps)).toBe(broken);
  });
});

describe("iptablesUpScript's FORWARD edits", () => {
  it("moves forward-in jumps found below a forward-out jump to the top, by rule number from the bottom", () => {
    const now = [`${I}nat0`, `${O}nat0`, "", `${I}ho`, `${O}ho`, `${I}x`];
    const script = iptablesUpScript(renderIptables(nat0), new Set(), now);
    expect(fwd(script)).toEqual(["-D FORWARD 6", "-D FORWARD 4", `-I FORWARD 1 -j ${I}x`, `-I FORWARD 1 -j ${I}ho`]);
  });
  it("drops a misplaced duplicate of a forward-in jump that also sits where it should", () => {
    const script = iptablesUpScript(renderIptables(nat0), new Set(), [`${I}ho`, `${O}ho`, `${I}ho`]);
    expect(fwd(script)).toEqual(["-D FORWARD 3"]);
  });
  it("puts a new forward-out jump right after the last forward-in jump, wherever others' rules put that", () => {
    const t = renderIptables(nat0);
    const script = iptablesUpScript(t, all(t), ["DOCKER-USER", "DOCKER-FORWARD", `${I}ho`, `${O}ho`]);
    // After: FWI-nat0, DOCKER-USER, DOCKER-FORWARD, FWI-ho, FWO-nat0, FWO-ho.
    expect(fwd(script)).toEqual([`-I FORWARD 1 -j ${I}nat0`, `-I FORWARD 5 -j ${O}nat0`]);
  });
  it("with nothing in FORWARD: forward-in at 1, forward-out at 2", () => {
    const t = renderIptables(nat0);
    expect(fwd(iptablesUpScript(t, all(t), []))).toEqual([`-I FORWARD 1 -j ${I}nat0`, `-I FORWARD 2 -j ${O}nat0`]);
  });
});

describe("firewallUpSteps", () => {
  // iptables-save of a host where nat0's rules are all in place but another network's forward-in jump sits low.
  const save = (order: string[]) => {
    const t = renderIptables(nat0);
    const chains = t.map((x) => [`*${x.table}`, ...Object.keys(x.chains).map((c) => `:${c} - [0:0]`),
      ...(x.table === "filter" ? order.map((c) => `-A FORWARD -j ${c}`) : x.jumps.map(([b, c]) => `-A ${b} -j ${c}`)),
      ...(x.table === "filter" ? x.jumps.filter(([b]) => b !== "FORWARD").map(([b, c]) => `-A ${b} -j ${c}`) : []),
      ...Object.values(x.chains).flat(), "COMMIT"].join("\n")).join("\n");
    return chains + "\n";
  };
  const state = (text: string) => ({ backend: "iptables" as const, tables: parseIptablesSave(text, Object.values(iptablesChains(nat0))), forward: forwardJumps(text) });

  it("has nothing to do when nat0's rules are in place and the order is right", () => {
    expect(firewallUpSteps(nat0, state(save([`${I}ho`, `${I}nat0`, `${O}ho`, `${O}nat0`])))).toEqual([]);
  });
  it("repairs another network's misplaced forward-in jump even when nat0's own rules are in place", () => {
    const steps = firewallUpSteps(nat0, state(save([`${I}nat0`, `${O}nat0`, `${I}ho`, `${O}ho`])));
    expect(steps).toHaveLength(1);
    expect(steps[0]!.kind === "iptables" && fwd(steps[0]!.script)).toEqual(["-D FORWARD 3", `-I FORWARD 1 -j ${I}ho`]);
  });
});
