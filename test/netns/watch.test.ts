// kvmnet watch and kvmnet reapply: rules (and bridges) removed by someone else come back for networks that are
// up; a network that is down stays down. The time from `nft flush ruleset` to kvmnet's table being back is
// measured and printed (the issue asks for under 1 s).
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, OUTSIDE, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

const second = "[iso]\nmode = isolated\nbridge = kviso9\n";

function children(pid: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return /^\S+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${d}/stat`, "utf8"))?.[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) return -1;
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

describe("kvmnet watch", () => {
  let lab: Lab;
  afterEach(() => lab?.destroy());

  it("after nft flush ruleset the rules are back within 1 s, once; a deleted bridge comes back with its VM; SIGTERM stops it", async () => {
    // taps: the VM's tap is found again (a stray, on no bridge) when the deleted bridge is made again.
    lab = makeLab({ section: (br) => `${natSection(br, "taps = vm*\n")}${second}` });
    const g = lab.addGuest("vm0");
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    expect(lab.dhcp(g)?.ip).toMatch(/^192\.0\.2\./);
    const watch = lab.host.spawn(program("kvmnet"), ["watch"], { env: { KVMNET_CONFIG: lab.conf.file } });
    let log = "";
    watch.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    watch.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    try {
      expect(await until(() => log.includes("waiting for changes"), 10_000), log).toBeGreaterThanOrEqual(0);
      expect(log).toContain("1 network up (nat0)");
      const tableBack = () => lab.host.tryRun("nft", ["list", "chain", "inet", "kvmnet", "from-nat0"]).exitCode === 0;
      lab.host.sh("nft flush ruleset");
      expect(tableBack()).toBe(false);
      const ms = await until(tableBack, 5_000);
      console.log(`kvmnet watch: rules back ${ms} ms after nft flush ruleset`);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(1000);
      // It settles: its own changes cause no second reapply.
      await new Promise((r) => setTimeout(r, 2000));
      expect(log.match(/nat0: reapplied/g)?.length, log).toBe(1);
      expect(lab.ping(g, OUTSIDE)).toBe(true);
      // A deleted bridge comes back, and the running VM's tap with it.
      lab.host.sh(`ip link del ${lab.bridge}`);
      const back = await until(
        () => lab.host.tryRun("test", ["-e", `/sys/class/net/${lab.bridge}/brif/vm0`]).exitCode === 0,
        5_000,
      );
      expect(back, log).toBeGreaterThanOrEqual(0);
      expect(lab.ping(g, "192.0.2.1")).toBe(true);
      // The network that was never up stays down.
      expect(lab.host.tryRun("test", ["-e", "/sys/class/net/kviso9"]).exitCode).not.toBe(0);
    } finally {
      const kids = children(watch.pid!);
      watch.kill("SIGTERM");
      const r = await watch;
      expect(r.exitCode, log).toBe(0);
      expect(kids.length).toBeGreaterThanOrEqual(1);
      for (const k of kids) expect(() => readFileSync(`/proc/${k}/stat`)).toThrow();
    }
  });

  it("kvmnet reapply (kvmnet-reapply.service) puts back a flushed ruleset for networks that are up only", () => {
    lab = makeLab({ section: (br) => `${natSection(br)}${second}` });
    lab.addGuest("vm0");
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    lab.host.sh("nft flush ruleset");
    const r = lab.host.tryRun(program("kvmnet"), ["reapply"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/^nat0: reapplied \(\d+ steps?\)$/);
    expect(lab.host.sh("nft list chain inet kvmnet from-nat0")).toContain("kvmnet nat0");
    expect(lab.host.tryRun("test", ["-e", "/sys/class/net/kviso9"]).exitCode).not.toBe(0);
  });
});
