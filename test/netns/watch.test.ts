// kvmnet watch and kvmnet reapply: rules (and bridges) removed by someone else come back for networks that are
// up; a network that is down, or taken down meanwhile, stays down. How long that takes is a figure of
// `npm run bench` (scripts/bench-watch.mjs), not an assertion here: a loaded machine only makes it slower.
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { sleep, startWatch, stopWatch, until } from "../helpers/watch.js";

const second = "[iso]\nmode = isolated\nbridge = kviso9\n";

describe("kvmnet watch", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("rules back after nft flush ruleset, once (it settles); a deleted table and bridge come back; a network taken down stays down; SIGTERM stops it and its monitors", async () => {
    // taps: the VM's tap is found again (a stray, on no bridge) when the deleted bridge is made again.
    lab = await makeLab({ section: (br) => `${natSection(br, "taps = vm*\n")}${second}` });
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\./);
    const w = await startWatch(lab);
    const chainThere = async () =>
      (await lab.host.tryRun("nft", ["list", "chain", "inet", "kvmnet", "from-nat0"])).exitCode === 0;
    const bridgeThere = async () =>
      (await lab.host.tryRun("test", ["-e", `/sys/class/net/${lab.bridge}`])).exitCode === 0;
    try {
      expect(w.log).toContain("1 network up (nat0)");
      const passes0 = w.count(/pass done/);

      // The watch may put the rules back before a look here could see them gone: that it re-applied after the
      // flush is in its log.
      await lab.host.sh("nft flush ruleset");
      const reappliedOnce = async () => w.count(/nat0: reapplied/) === 1 && (await chainThere());
      expect(await until(reappliedOnce, 60_000), w.log).toBeGreaterThanOrEqual(0);
      // It settles: its own changes cause at most one more pass, which finds nothing to do, then no more.
      const passesSince = () =>
        w.log
          .split("\n")
          .filter((l) => l.startsWith("watch: pass done"))
          .slice(passes0);
      await until(() => passesSince().at(-1) === "watch: pass done, 0 steps", 60_000);
      await sleep(1000);
      const passes = passesSince();
      expect(w.count(/nat0: reapplied/), w.log).toBe(1);
      expect(passes.length, w.log).toBeLessThanOrEqual(2);
      expect(passes.at(-1), w.log).toBe("watch: pass done, 0 steps");
      const settled = w.count(/pass done/);
      await sleep(1000);
      expect(w.count(/pass done/), w.log).toBe(settled);
      expect(await lab.ping(g, OUTSIDE)).toBe(true);

      // Only kvmnet's table deleted.
      await lab.host.sh("nft delete table inet kvmnet");
      expect(await until(chainThere, 60_000), w.log).toBeGreaterThanOrEqual(0);

      // A deleted bridge comes back (its dnsmasq and rules were still there), and the running VM's tap with it.
      await lab.host.sh(`ip link del ${lab.bridge}`);
      const back = await until(
        async () => (await lab.host.tryRun("test", ["-e", `/sys/class/net/${lab.bridge}/brif/vm0`])).exitCode === 0,
        60_000,
      );
      expect(back, w.log).toBeGreaterThanOrEqual(0);
      expect(await lab.ping(g, "192.0.2.1")).toBe(true);
      // The network that was never up stays down.
      expect((await lab.host.tryRun("test", ["-e", "/sys/class/net/kviso9"])).exitCode).not.toBe(0);

      // kvmnet down while watch runs: it stays down (the bridge going is no reason to make it again).
      const down = await lab.host.tryRun(program("kvmnet"), ["down", "nat0", "--force"], {
        env: { KVMNET_CONFIG: lab.conf.file },
      });
      expect(down.exitCode, String(down.stderr)).toBe(0);
      await until(() => w.log.includes("nat0: down, no longer kept"), 3_000);
      await sleep(500);
      expect(await bridgeThere(), w.log).toBe(false);
      expect(await chainThere(), w.log).toBe(false);
      expect(w.log).toContain("nat0: down, no longer kept");
      // ... and once up again it is kept again.
      const up = await lab.host.tryRun(program("kvmnet"), ["up", "nat0"], { env: { KVMNET_CONFIG: lab.conf.file } });
      expect(up.exitCode, String(up.stderr)).toBe(0);
      await sleep(300);
      await lab.host.sh("nft flush ruleset");
      expect(await until(chainThere, 60_000), w.log).toBeGreaterThanOrEqual(0);
    } finally {
      await stopWatch(w);
    }
  });

  it("iptables backend (iptables-nft): rules back after nft flush ruleset and after iptables -F FORWARD; SIGTERM to it and its monitors at once: exit 0", async () => {
    lab = await makeLab({ firewall: "iptables", section: (br) => `${natSection(br)}${second}` });
    const g = await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect((await lab.dhcp(g))?.ip).toMatch(/^192\.0\.2\./);
    const w = await startWatch(lab);
    const jumpThere = async () => /-A FORWARD -j KVMNET-FORWARD/.test(await lab.host.sh("iptables -S FORWARD"));
    const natThere = async () => (await lab.host.sh("iptables -t nat -S")).includes("192.0.2.0/24");
    try {
      // The watch may put the rules back before a look here could see them gone: that it re-applied after each
      // removal is in its log.
      const reapplied = () => w.count(/nat0: reapplied/);
      const n0 = reapplied();
      await lab.host.sh("nft flush ruleset");
      const back = async () => reapplied() > n0 && (await jumpThere()) && (await natThere());
      expect(await until(back, 60_000), w.log).toBeGreaterThanOrEqual(0);
      const n1 = reapplied();
      await lab.host.sh("iptables -F FORWARD");
      expect(await until(async () => reapplied() > n1 && (await jumpThere()), 60_000), w.log).toBeGreaterThanOrEqual(0);
      expect(await lab.ping(g, OUTSIDE)).toBe(true);
    } finally {
      await stopWatch(w, true);
    }
  });

  it("does not fight as fast as it can: something deleting kvmnet's table each time it is back gets 5 re-applies, a warning, then a pause", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const w = await startWatch(lab);
    const chainThere = async () =>
      (await lab.host.tryRun("nft", ["list", "chain", "inet", "kvmnet", "from-nat0"])).exitCode === 0;
    try {
      // A fighter: deletes the table as soon as it is back (paced by kvmnet, not by a clock), until kvmnet warns.
      const warned = () => w.log.includes("something keeps changing kvmnet's rules or bridges");
      for (let i = 0; i < 30 && !warned(); i++) {
        for (let t = 0; !(await chainThere()) && !warned(); t++) {
          expect(t, `a re-apply never came: ${w.log}`).toBeLessThan(6000);
          await sleep(10);
        }
        if (!warned()) await lab.host.sh("nft delete table inet kvmnet");
      }
      expect(await until(warned, 60_000), w.log).toBeGreaterThanOrEqual(0);
      const n = w.count(/nat0: reapplied/);
      expect(n, w.log).toBeGreaterThanOrEqual(5);
      // Paused: a deletion now is not answered at once (the pause is 10 s; 2 s is well inside it)...
      if (await chainThere()) await lab.host.sh("nft delete table inet kvmnet");
      await sleep(2_000);
      expect(await chainThere(), w.log).toBe(false);
      expect(w.count(/nat0: reapplied/), w.log).toBe(n);
      // ...but only paused: the rules come back afterwards.
      expect(await until(() => w.count(/nat0: reapplied/) > n, 60_000), w.log).toBeGreaterThanOrEqual(0);
    } finally {
      await stopWatch(w);
    }
  });
});

describe("kvmnet reapply", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("(kvmnet-reapply.service) puts back a flushed ruleset for networks that are up only", async () => {
    lab = await makeLab({ section: (br) => `${natSection(br)}${second}` });
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    await lab.host.sh("nft flush ruleset");
    const r = await lab.host.tryRun(program("kvmnet"), ["reapply"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/^nat0: reapplied \(\d+ steps?\)$/);
    expect(await lab.host.sh("nft list chain inet kvmnet from-nat0")).toContain("kvmnet nat0");
    expect((await lab.host.tryRun("test", ["-e", "/sys/class/net/kviso9"])).exitCode).not.toBe(0);
    // Again: nothing to do, nothing said.
    const again = await lab.host.tryRun(program("kvmnet"), ["reapply"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(again.exitCode).toBe(0);
    expect(String(again.stdout)).toBe("");
  });
});
