// A VXLAN peer removed from the config (issue 18 §6): `kvmnet up` deletes the guests' MACs its device learnt behind
// that peer (a step), not only the flood entry, so no guest keeps reaching it until the entries age out (~300 s).
import { afterEach, describe, expect, it } from "vitest";
import { makeVxlanLab, type VxlanLab } from "./vxlan-lab.js";

const iso = (br: string, peers: string) =>
  `[iso]\nmode = isolated\nbridge = ${br}\nvxlan_id = 100\nvxlan_dev = u0\nvxlan_peers = ${peers}\ntaps = vm*\n`;

describe("a VXLAN peer removed", () => {
  let lab: VxlanLab;
  afterEach(async () => await lab?.destroy());

  it("its learned forwarding entries are flushed by kvmnet up; the remaining peer's stay", async () => {
    lab = await makeVxlanLab((br) => iso(br, "203.0.113.1, 203.0.113.2, 203.0.113.3"));
    const [h1, h2, h3] = [await lab.addHost(1, "h1"), await lab.addHost(2, "h2"), await lab.addHost(3, "h3")];
    const guests = [];
    for (const [i, h] of [h1, h2, h3].entries()) {
      const g = await lab.addGuest(h, "vm1");
      await g.sh(`ip addr add 192.0.2.${11 + i}/24 dev eth0`);
      const r = await lab.run(h, "qemu-ifup-isolated", ["vm1"]);
      expect(r.code, r.stderr).toBe(0);
      guests.push(g);
    }
    // Guests on h2 and h3 answer h1's: h1's device learns their MACs behind 203.0.113.2 and .3.
    expect(await lab.ping(guests[0]!, "192.0.2.12")).toBe(true);
    expect(await lab.ping(guests[0]!, "192.0.2.13")).toBe(true);
    const fdb = async () => await h1.ns.sh("bridge fdb show dev vx100");
    const learnt = (text: string, dst: string) =>
      text.split("\n").filter((l) => l.includes(` dst ${dst} `) && !l.startsWith("00:00:00:00:00:00")).length;
    expect(learnt(await fdb(), "203.0.113.2"), await fdb()).toBeGreaterThan(0);
    expect(learnt(await fdb(), "203.0.113.3"), await fdb()).toBeGreaterThan(0);

    // The peer goes away: it sends nothing more over VXLAN (while it still did, its guest's or bridge's next frame
    // was learnt again behind it right after the flush, and the check below failed now and then).
    await h2.ns.sh("ip link set vx100 down");
    lab.rewrite(iso(lab.bridge, "203.0.113.1, 203.0.113.3"));
    const plan = await lab.run(h1, "kvmnet", ["plan", "iso"]);
    expect(plan.stdout).toMatch(/^fdb del (?!00:00:00:00:00:00)[0-9a-f:]{17} dev vx100 dst 203\.0\.113\.2$/m);
    const up = await lab.run(h1, "kvmnet", ["up", "iso"]);
    expect(up.code, up.stderr).toBe(0);
    const after = await fdb();
    expect(after).not.toContain("dst 203.0.113.2 ");
    expect(learnt(after, "203.0.113.3"), after).toBeGreaterThan(0);
    expect(await lab.ping(guests[0]!, "192.0.2.12")).toBe(false);
    expect(await lab.ping(guests[0]!, "192.0.2.13")).toBe(true);
    // Nothing left to do.
    const again = await lab.run(h1, "kvmnet", ["plan", "iso"]);
    expect(again.stdout).not.toMatch(/fdb del/);
  });
});
