// kvmnet watch serving hooks (src/cli/watch-serve.ts, src/host/watch-client.ts): a hook of the same build, config
// and network namespace hands its run to the watch, with the same outcome as on its own (exit code, stderr, the
// network as wanted); what it must not do (start dnsmasq) and where it must not (another namespace) it leaves to
// the hook. The watch's spawns are logged by a preload, so that what it ran for a hook is seen, not supposed.
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ATT, qemuHook, VIC } from "../helpers/guard.js";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { Netns, program } from "../helpers/netns.js";
import { startWatch, stopWatch, until } from "../helpers/watch.js";

// Logs each of the watch's spawnSync calls to its stderr: "SPAWN nft list chain".
const SPY = `const cp = require("node:child_process"), sync = cp.spawnSync;
cp.spawnSync = function (cmd, args) {
  process.stderr.write("SPAWN " + String(cmd).split("/").pop() + " " + (args || []).slice(0, 2).join(" ") + "\\n");
  return sync.apply(this, arguments);
};`;

describe("kvmnet watch serving hooks", () => {
  let lab: Lab;
  let other: Netns | undefined;
  afterEach(async () => {
    await other?.destroy();
    other = undefined;
    await lab?.destroy();
  });

  async function watchWithSpy(l: Lab) {
    const spy = join(l.conf.dir, "spy.cjs");
    writeFileSync(spy, SPY);
    return await startWatch(l, { NODE_OPTIONS: `--require ${spy}` });
  }

  it("serves a warm attach and a detach as the hook would; leaves a cold start (dnsmasq) and another namespace to the hook; errors read the same; KVMNET_LOCAL=1 declines", async () => {
    lab = await makeLab();
    const g0 = await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    const w = await watchWithSpy(lab);
    try {
      // The socket: root's, 0600, in the state_dir.
      const st = statSync(join(lab.conf.stateDir, ".watch.sock"));
      expect(st.isSocket() && st.uid === 0 && (st.mode & 0o777) === 0o600).toBe(true);

      // The first VM starts dnsmasq: the watch leaves that to the hook, which does it itself.
      const r0 = await lab.hook("qemu-natup", "vm0");
      expect(r0.code, r0.stderr).toBe(0);
      expect(w.log).toContain("left qemu-natup vm0 to the hook: the run starts dnsmasq");
      expect((await lab.dhcp(g0))?.ip).toMatch(/^192\.0\.2\./);

      // The second is served: the watch attached it, and the guest gets its lease and reaches the outside.
      const r1 = await lab.hook("qemu-natup", "vm1");
      expect(r1.code, r1.stderr).toBe(0);
      expect(w.log).toContain("served qemu-natup vm1: exit 0");
      expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).toContain("vm1");
      expect((await lab.dhcp(g1))?.ip).toMatch(/^192\.0\.2\./);
      expect(await lab.ping(g1, OUTSIDE)).toBe(true);

      // An error reads the same and exits the same, served or not.
      const served = await lab.hook("qemu-natup", "nosuch0");
      const local = await lab.hook("qemu-natup", "nosuch0", { KVMNET_LOCAL: "1" });
      expect(w.log).toContain("served qemu-natup nosuch0: exit 2");
      expect(w.count(/qemu-natup nosuch0/)).toBe(1);
      expect(served.code).toBe(2);
      expect([served.code, served.stderr]).toEqual([local.code, local.stderr]);
      expect(served.stderr).toMatch(/^qemu-natup: TAP nosuch0 does not exist/);

      // A detach: served; the tap is off the bridge, the network stays up for vm0.
      const d1 = await lab.hook("qemu-natdown", "vm1");
      expect(d1.code, d1.stderr).toBe(0);
      expect(w.log).toContain("served qemu-natdown vm1: exit 0");
      expect(await lab.host.sh(`ls /sys/class/net/${lab.bridge}/brif`)).not.toContain("vm1");
      expect(await lab.ping(g0, OUTSIDE)).toBe(true);

      // A hook in another network namespace, with the same config (so the same socket): left to the hook.
      other = await Netns.create("kx");
      const elsewhere = await other.tryRun(program("qemu-natup"), ["vm9"], {
        env: { KVMNET_CONFIG: lab.conf.file },
        timeout: 60_000,
      });
      expect(elsewhere.exitCode).toBe(2);
      expect(w.log).toContain("left qemu-natup vm9 to the hook: the hook runs in another network namespace");
    } finally {
      await stopWatch(w);
    }
    // Gone with the watch: hooks run on their own again.
    expect(() => statSync(join(lab.conf.stateDir, ".watch.sock"))).toThrow();
    const after = await lab.hook("qemu-natup", "vm1");
    expect(after.code, after.stderr).toBe(0);
  });

  it("answers the firewall's quick look from its last one, until nft monitor reports any change to the rulesets", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const w = await watchWithSpy(lab);
    const looks = () => w.count(/SPAWN nft list chain/);
    const attach = async () => {
      expect((await lab.hook("qemu-natdown", "vm1")).code).toBe(0);
      const r = await lab.hook("qemu-natup", "vm1");
      expect(r.code, r.stderr).toBe(0);
    };
    try {
      // It keeps answers only once its nft monitor listens (its netlink socket subscribed, in /proc/net/netlink).
      expect(w.log).not.toContain("cannot tell that nft monitor listens");
      await attach();
      const n = looks();
      await attach();
      await attach();
      expect(w.count(/served qemu-natup vm1: exit 0/)).toBe(3);
      // No look of its own for the last two: the answer it had (the watch's passes meanwhile, at each port the
      // bridge gained or lost, looked as well and found the same).
      expect(looks(), w.log).toBe(n);
      // A change to another table's set (no pass for that): the next attaches look again, once the watch has read
      // the monitor's line.
      await lab.host.sh("nft add table inet other && nft add set inet other s '{ type ipv4_addr; }'");
      await lab.host.sh("nft add element inet other s '{ 198.51.100.7 }'");
      const looked = async () => {
        const before = looks();
        await attach();
        return looks() > before;
      };
      expect(await until(looked, 60_000), w.log).toBeGreaterThanOrEqual(0);
    } finally {
      await stopWatch(w);
    }
  });

  it("guard = yes: a served attach takes the guest's MAC from the hook's parent (QEMU), as the hook would", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "guard = yes\n") });
    const att = await lab.addGuest("vm0", ATT);
    const vic = await lab.addGuest("vm1", VIC);
    const w = await startWatch(lab);
    try {
      expect((await qemuHook(lab, "qemu-natup", "vm0", ATT)).code).toBe(0);
      const r = await qemuHook(lab, "qemu-natup", "vm1", VIC);
      expect(r.code, r.stderr).toBe(0);
      expect(w.log).toContain("served qemu-natup vm1: exit 0");
      expect((await lab.dhcp(att))?.ip).toMatch(/^192\.0\.2\./);
      const lease = await lab.dhcp(vic);
      expect(lease?.ip).toMatch(/^192\.0\.2\./);
      expect(await lab.host.sh("nft list table bridge kvmnet")).toContain(VIC);
      expect(
        await until(
          async () => (await lab.host.sh("nft list set bridge kvmnet guard_ips")).includes(`${VIC} . ${lease!.ip}`),
          20_000,
        ),
      ).toBeGreaterThanOrEqual(0);
      expect(await lab.ping(vic, "192.0.2.1")).toBe(true);
    } finally {
      await stopWatch(w);
    }
  });
});
