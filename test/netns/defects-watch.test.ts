// kvmnet watch and signals (issue 18 §6): SIGHUP re-reads the config and converges with it, stopping nothing (its
// monitors stay its own children, the same pids); SIGTERM then ends it with exit 0 and no monitor left.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";
import { children } from "../helpers/watch.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
const alive = (pid: number) => {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

// The monitors among PID's children, by command line.
function monitors(pid: number): Map<string, number> {
  return new Map(
    children(pid)
      .map((k) => [cmdline(k), k] as const)
      .filter(([c]) => / monitor/.test(c)),
  );
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) return false;
    await sleep(20);
  }
  return true;
}

describe("kvmnet watch and signals", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("SIGHUP reloads the config and stops nothing; SIGTERM then exits 0 with its monitors gone", async () => {
    lab = await makeLab({ section: (br) => natSection(br) });
    await lab.addGuest("vm0");
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    const child = lab.host.spawn(program("kvmnet"), ["watch", "--verbose"], {
      env: { KVMNET_CONFIG: lab.conf.file },
    });
    let log = "";
    child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    let exited = false;
    void child.finally(() => (exited = true));
    const pid = child.pid!;
    let before = new Map<string, number>();
    try {
      expect(await until(() => log.includes("waiting for changes"), 15_000), log).toBe(true);
      before = monitors(pid);
      expect([...before.keys()].sort(), log).toEqual(["ip monitor link", "nft monitor"]);

      // A static lease added: the reload shows in the hostsfile that a pass writes.
      const hostsfile = join(lab.conf.stateDir, "nat0.hostsfile");
      expect(readFileSync(hostsfile, "utf8")).not.toContain("52:54:00:18:06:01");
      const text = readFileSync(lab.conf.file, "utf8");
      writeFileSync(lab.conf.file, `${text}host.web = 52:54:00:18:06:01,192.0.2.61\n`);
      process.kill(pid, "SIGHUP");
      expect(await until(() => log.includes("SIGHUP: config reloaded"), 10_000), log).toBe(true);
      expect(await until(() => readFileSync(hostsfile, "utf8").includes("52:54:00:18:06:01"), 10_000), log).toBe(true);
      await sleep(500);
      expect(exited, log).toBe(false);
      expect(alive(pid)).toBe(true);
      // The same monitors, still its children and running.
      expect(monitors(pid), log).toEqual(before);
      for (const m of before.values()) expect(alive(m)).toBe(true);

      process.kill(pid, "SIGTERM");
      const r = await child;
      expect(r.exitCode, log).toBe(0);
      for (const [c, m] of before) expect(alive(m), c).toBe(false);
    } finally {
      if (!exited) child.kill("SIGKILL");
      // Monitors left behind (orphaned when a SIGHUP killed watch): stopped by the pids seen.
      for (const m of before.values()) if (alive(m)) process.kill(m, "SIGTERM");
    }
  });
});
