// kvmnet's dnsmasq is found by the pid kvmnet itself records (root's file), checked against /proc; a lost record
// is recovered by scanning /proc within the namespace, and a record pointing at another process is not believed.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

let lab: Lab;
afterEach(async () => await lab?.destroy());

// Processes running kvmnet's dnsmasq of nat0 (any namespace: the config path is this test's own).
function dnsmasqs(): number[] {
  const conf = `--conf-file=${lab.conf.stateDir}/nat0.dnsmasq.conf`;
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(conf) ? [Number(p)] : [];
      } catch {
        return [];
      }
    });
}

async function kvmnet(args: string[]) {
  const r = await lab.host.tryRun(program("kvmnet"), args, { env: { KVMNET_CONFIG: lab.conf.file }, timeout: 60_000 });
  return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` };
}

const alive = (pid: number) => {
  try {
    return !/ Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe("kvmnet's own dnsmasq record", () => {
  it("is written by kvmnet, root's; dnsmasq writes no pid file of its own", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const pidFile = `${lab.conf.stateDir}/nat0.dnsmasq.pid`;
    const st = statSync(pidFile);
    expect(st.uid).toBe(0);
    expect(st.mode & 0o022).toBe(0);
    expect(dnsmasqs()).toEqual([Number(readFileSync(pidFile, "utf8"))]);
    expect(readFileSync(`${lab.conf.stateDir}/nat0.dnsmasq.conf`, "utf8")).toMatch(/^pid-file=$/m);
    // nobody cannot rewrite it (before: dnsmasq chowned its pid file to nobody).
    expect(
      (
        await lab.host.tryRun("setpriv", [
          "--reuid=nobody",
          "--regid=nogroup",
          "--clear-groups",
          "sh",
          "-c",
          `echo 1 > ${pidFile}`,
        ])
      ).exitCode,
    ).not.toBe(0);
  });

  it("pid file lost while dnsmasq runs: the next natup exits 0 and exactly one dnsmasq serves", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const [first] = dnsmasqs();
    rmSync(`${lab.conf.stateDir}/nat0.dnsmasq.pid`);
    const r = await lab.hook("qemu-natup", "vm1");
    expect(r.code, r.stderr).toBe(0);
    const now = dnsmasqs();
    expect(now).toHaveLength(1);
    expect(alive(first!)).toBe(now[0] === first);
    expect(Number(readFileSync(`${lab.conf.stateDir}/nat0.dnsmasq.pid`, "utf8"))).toBe(now[0]);
    expect((await lab.dhcp(g1))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
    // And the warm path after that trusts the new record: nothing to do.
    expect((await lab.hook("qemu-natup", "vm1", { KVMNET_VERBOSE: "1" })).stderr).toBe("");
  });

  it("kvmnet down --force with a lost pid file stops the orphan", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const [orphan] = dnsmasqs();
    rmSync(`${lab.conf.stateDir}/nat0.dnsmasq.pid`);
    const st = await kvmnet(["status", "nat0"]);
    expect(st.out).toMatch(/dnsmasq pid \d+: orphaned/);
    const r = await kvmnet(["down", "nat0", "--force"]);
    expect(r.code, r.out).toBe(0);
    expect(alive(orphan!)).toBe(false);
    expect(dnsmasqs()).toEqual([]);
  });

  it("a pid file rewritten to another process (a sleep run as nobody) is not signalled", async () => {
    lab = await makeLab({
      section: (br) =>
        `[nat0]\nmode = nat\nbridge = ${br}\naddress = 192.0.2.1/24\ndhcp_range = 192.0.2.100,192.0.2.199\nhost.web = 52:54:00:88:88:88,192.0.2.10\n`,
    });
    await lab.addGuest("vm0");
    const g1 = await lab.addGuest("vm1");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const sleeper = lab.host.spawn("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "sleep", "300"]);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const pidFile = `${lab.conf.stateDir}/nat0.dnsmasq.pid`;
      writeFileSync(pidFile, `${sleeper.pid}\n`);
      // A changed static lease would be a SIGHUP to the recorded pid: it must go to the real dnsmasq.
      const r = await lab.hook("qemu-natup", "vm1");
      expect(r.code, r.stderr).toBe(0);
      expect(alive(sleeper.pid!)).toBe(true);
      expect(dnsmasqs()).toHaveLength(1);
      expect(await lab.dhcp(g1)).not.toBeNull();
      writeFileSync(pidFile, `${sleeper.pid}\n`);
      expect((await kvmnet(["down", "nat0", "--force"])).code).toBe(0);
      expect(alive(sleeper.pid!)).toBe(true);
      expect(dnsmasqs()).toEqual([]);
    } finally {
      sleeper.kill("SIGTERM");
      await sleeper;
    }
  });
});
