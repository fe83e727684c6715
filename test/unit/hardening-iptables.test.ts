// The iptables backend's FORWARD chain: one jump into kvmnet's dispatch chains, so no order between networks
// can break isolation (issue 9 #3). While networks of the older layout (their own jumps in FORWARD) remain, the
// dispatch jump sits after all their forward-in jumps and before their forward-out jumps, and their own order
// is still repaired.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/validate.js";
import { firewallUpSteps } from "../../src/firewall/up-down.js";
import { forwardEdits, iptablesUpScript } from "../../src/firewall/iptables/diff.js";
import { parseIptablesSave } from "../../src/firewall/iptables/save.js";
import { renderIptables } from "../../src/firewall/iptables/render.js";

const config = parseConfig("/etc/kvmnet.conf", "[nat0]\nmode = nat\nbridge = kvbr0\naddress = 192.0.2.1/24\n");
const nat0 = config.networks[0]!;
const [I, O, K] = ["KVMNET-FWI-", "KVMNET-FWO-", "KVMNET-FORWARD"];
const mine = new Set([`${I}nat0`, `${O}nat0`, "KVMNET-INP-nat0"]);

describe("forwardEdits", () => {
  it.each([
    ["an empty FORWARD: the dispatch jump on top", [], [`-I FORWARD 1 -j ${K}`]],
    ["in place: nothing", ["DOCKER-USER", K, ""], []],
    ["a duplicate: both go, one comes back", [K, "", K], ["-D FORWARD 3", "-D FORWARD 1", `-I FORWARD 1 -j ${K}`]],
    [
      "nat0's old jumps go, the dispatch jump takes their place",
      [`${I}ho`, `${I}nat0`, `${O}ho`, `${O}nat0`],
      ["-D FORWARD 4", "-D FORWARD 2", `-I FORWARD 2 -j ${K}`],
    ],
    [
      "a dispatch jump above another network's old forward-in jump is moved below it",
      [K, `${I}ho`, `${O}ho`],
      ["-D FORWARD 1", `-I FORWARD 2 -j ${K}`],
    ],
    [
      "an old forward-in jump below a forward-out one is still repaired",
      [`${I}a`, `${O}a`, K, `${I}b`, `${O}b`],
      ["-D FORWARD 4", "-D FORWARD 3", `-I FORWARD 1 -j ${I}b`, `-I FORWARD 3 -j ${K}`],
    ],
  ] as [string, string[], string[]][])("%s", (_, now, edits) => {
    expect(forwardEdits(now, mine)).toEqual(edits);
  });
});

// Apply a restore script's FORWARD edits to a list of FORWARD targets, as iptables would.
function run(now: string[], edits: string[]): string[] {
  const list = [...now];
  for (const e of edits) {
    const d = /^-D FORWARD (\d+)$/.exec(e);
    const i = /^-I FORWARD (\d+) -j (\S+)$/.exec(e);
    if (d) list.splice(Number(d[1]) - 1, 1);
    if (i) list.splice(Number(i[1]) - 1, 0, i[2]!);
  }
  return list;
}

describe("forwardEdits leave every old forward-in jump before the dispatch jump, and it before every forward-out one", () => {
  const names = [`${I}a`, `${O}a`, `${I}b`, `${O}b`, `${I}nat0`, `${O}nat0`, K, "DOCKER-USER"];
  // Every order of a sample of FORWARD contents.
  const samples: string[][] = [];
  for (let seed = 1; seed < 60; seed++) {
    let x = seed;
    const pick = names.filter(() => ((x = (x * 1103515245 + 12345) % 2 ** 31) & 4) !== 0);
    samples.push(pick.sort(() => ((x = (x * 1103515245 + 12345) % 2 ** 31) & 8) - 4));
  }
  it.each(samples.map((s) => [s]))("%j", (now) => {
    const after = run(now, forwardEdits(now, mine));
    expect(after.filter((x) => x === K)).toHaveLength(1);
    expect(after.some((x) => x.endsWith("nat0"))).toBe(false);
    const k = after.indexOf(K);
    after.forEach((x, i) => {
      if (x.startsWith(I)) expect(i).toBeLessThan(k);
      if (x.startsWith(O)) expect(i).toBeGreaterThan(k);
    });
    expect(forwardEdits(after, mine)).toEqual([]);
  });
});

describe("firewallUpSteps with iptables", () => {
  it("has nothing to do once its own script's result is what iptables-save shows", () => {
    const script = iptablesUpScript(nat0, renderIptables(nat0)!, {});
    // What iptables-save prints after that script on an empty host: declarations, then rules in order.
    const text = script
      .split("\n")
      .map((l) => l.replace(/^-I (\S+) \d+ /, "-A $1 "))
      .join("\n");
    expect(firewallUpSteps(nat0, { backend: "iptables", save: parseIptablesSave(text) })).toEqual([]);
  });
});
