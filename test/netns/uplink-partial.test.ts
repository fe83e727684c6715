// A move of the uplink onto a bridge cut off part-way, found by the next run with or without its journal (issue 18,
// 4). The move's batch is run by hand up to line 3 (bridge made, alias, NIC enslaved: the host's address and
// default route still on the NIC, the bridge down), 6 or 7 of its 8 lines; the journal was removed, or the move was
// cut off by an older kvmnet that wrote none. Before, a run without the journal exited 0, attached the tap and left
// the host offline, and status said "as configured". Now status and plan count the state as pending, and the next
// hook finishes the move from what the bridge and the NIC hold (each route goes on the bridge before it leaves the
// NIC, so no cut point loses one), also with the journal (it used to undo the move and make it again): the host's
// address and default route end on the bridge, and it is reachable.
import { mkdirSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { program } from "../helpers/netns.js";
import { HOST_UP, makeLab, OUTSIDE, pings, type Lab } from "./models-lab.js";

interface MoveStep {
  kind: string;
  lines: string[];
  rollback: string[];
  journal: string;
}

const CASES = [
  ...[3, 6, 7].flatMap((lines) => [
    { lines, journal: false, older: false },
    { lines, journal: true, older: false },
  ]),
  // The order of an older kvmnet, which took each route off the NIC before putting it on the bridge: cut after 6
  // or 7 lines, the default route is on neither device, and only its journal still knows it.
  { lines: 6, journal: true, older: true },
  { lines: 7, journal: true, older: true },
];

// The move's lines in the order of an older kvmnet: bridge, alias, port, up, addresses on the bridge, routes off
// the NIC, addresses off the NIC, routes on the bridge.
function olderOrder(lines: string[]): string[] {
  const off = lines.filter((l) => l.startsWith("route del "));
  const on = lines.filter((l) => l.startsWith("route prepend ")).map((l) => l.replace("route prepend ", "route add "));
  const rest = lines.filter((l) => !l.startsWith("route "));
  const addrDel = rest.filter((l) => l.startsWith("address del "));
  return [...rest.filter((l) => !addrDel.includes(l)), ...off, ...addrDel, ...on];
}

describe("an uplink move cut off part-way", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each(CASES)(
    "after $lines of its 8 lines (journal: $journal, older kvmnet: $older): pending, then finished by the next hook",
    async (c) => {
      lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n` });
      const h = lab.host;
      const br = lab.bridge;
      await h.sh(`ip route add default via ${OUTSIDE} dev up0`);
      const g = await lab.addGuest("vm0", "203.0.113.50/24");
      const kvmnet = async (...args: string[]) =>
        await h.run(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file } });
      const pending = async () => JSON.parse((await kvmnet("status", "lan", "--json")).stdout).networks[0].pending;

      const plan = JSON.parse((await kvmnet("plan", "lan", "--json")).stdout) as { steps: MoveStep[] };
      const move = plan.steps.find((s) => s.kind === "uplink-move")!;
      expect(move.lines).toHaveLength(8);
      const lines = c.older ? olderOrder(move.lines) : move.lines;
      await h.run("ip", ["-batch", "-"], { input: lines.slice(0, c.lines).join("\n") + "\n" });
      if (c.older) expect(await h.sh("ip -4 route show default")).toBe("");
      if (c.journal) {
        mkdirSync(lab.conf.stateDir, { recursive: true, mode: 0o755 });
        writeFileSync(move.journal, move.rollback.join("\n") + "\n", { mode: 0o600 });
      }
      expect(await h.sh(`cat /sys/class/net/${br}/ifalias`)).toBe("kvmnet:lan");
      const ifindex = await h.sh(`cat /sys/class/net/${br}/ifindex`);
      expect(await pending()).toBeGreaterThan(0);
      expect((await kvmnet("status", "lan")).stdout).not.toContain("as configured");

      const r = await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" });
      expect(r.code, r.stderr).toBe(0);
      expect((await h.sh(`ls /sys/class/net/${br}/brif`)).split("\n").sort()).toEqual(["up0", "vm0"]);
      expect(await h.sh("ip -4 -o addr show dev up0")).toBe("");
      expect(await h.sh(`ip -4 -o addr show dev ${br} | awk '{print $4}'`)).toBe(`${HOST_UP}/24`);
      expect(await h.sh("ip -4 route show default")).toBe(`default via ${OUTSIDE} dev ${br} `);
      expect(await h.sh(`cat /sys/class/net/${br}/operstate`)).toBe("up");
      // Finished, not undone and made again: the host's address left the network once, not three times.
      expect(await h.sh(`cat /sys/class/net/${br}/ifindex`)).toBe(ifindex);
      expect(await h.sh(`ls ${lab.conf.stateDir}`)).toBe("");
      expect(await pings(h, OUTSIDE)).toBe(true);
      expect(await pings(g, OUTSIDE)).toBe(true);
      expect(await pending()).toBe(0);
      // And the run after that changes nothing.
      const again = await lab.hook("qemu-ifup-bridge", "vm0", { KVMNET_VERBOSE: "1" });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toBe("");
    },
  );

  it("cut off by an older kvmnet, no journal, its route off the NIC: finished, the lost route named", async () => {
    lab = await makeLab({ body: (br) => `[lan]\nmode = bridge\nbridge = ${br}\nuplink = up0\n` });
    const h = lab.host;
    const br = lab.bridge;
    await h.sh(`ip route add default via ${OUTSIDE} dev up0`);
    await lab.addGuest("vm0", "203.0.113.50/24");
    const kvmnet = async (...args: string[]) =>
      await h.run(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file } });
    const plan = JSON.parse((await kvmnet("plan", "lan", "--json")).stdout) as { steps: MoveStep[] };
    const lines = olderOrder(plan.steps.find((s) => s.kind === "uplink-move")!.lines);
    // The second state: the address on both devices, the default route on neither.
    await h.run("ip", ["-batch", "-"], { input: lines.slice(0, 6).join("\n") + "\n" });
    expect(await h.sh("ip -4 route show default")).toBe("");

    const r = await lab.hook("qemu-ifup-bridge", "vm0");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `warning: after finishing the cut-off move of up0 onto ${br} the host has no IPv4 default route; ` +
        `if it had one, the cut-off run lost it: ip route add default via GATEWAY dev ${br}`,
    );
    expect(await h.sh("ip -4 -o addr show dev up0")).toBe("");
    expect(await h.sh(`ip -4 -o addr show dev ${br} | awk '{print $4}'`)).toBe(`${HOST_UP}/24`);
    expect(await pings(h, OUTSIDE)).toBe(true);
  });
});
