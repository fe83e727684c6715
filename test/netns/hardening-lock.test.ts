// The per-network lock (issue 9 #5): only root can take it, and a holder killed with SIGKILL frees it. It is a
// listening unix socket at a name in the root-owned state_dir (src/host/lock.ts), taken with no process.
import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { lstatSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { makeLab, type Lab } from "../helpers/lab.js";
import { program, ROOT } from "../helpers/netns.js";

const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

// Resolves when CHILD prints LINE on stdout.
function printed(child: ReturnType<typeof execa>, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (d: Buffer) => {
      seen += d;
      if (seen.includes(line)) resolve();
    });
    child.once("exit", () => reject(new Error(`exited before printing ${line}: ${seen}`)));
  });
}

describe("per-network lock", () => {
  let lab: Lab;
  const stop: (() => void)[] = [];
  afterEach(async () => {
    for (const s of stop.splice(0)) s();
    await lab?.destroy();
  });

  it("a non-root user can neither take nor block it: natup still runs at once", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const state = lab.conf.stateDir;
    // Cold host, no state_dir yet: nobody tries both the old abstract socket name and the lock files.
    const old = `kvmnet/${createHash("sha256").update(state).digest("hex").slice(0, 16)}/nat0`;
    const squat = lab.host.spawn(AS_NOBODY[0]!, [
      ...AS_NOBODY.slice(1),
      "node",
      "-e",
      `require("net").createServer().listen({ path: "\\0${old}" }, () => console.log("bound"))`,
    ]);
    stop.push(() => squat.kill("SIGKILL"));
    await printed(squat, "bound");
    const r = await lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    // Released: no socket is left at the lock's name, and nobody can make one there (nor anything else).
    expect(lstatSync(`${state}/.lock.nat0.sock`, { throwIfNoEntry: false })).toBeUndefined();
    for (const f of [".lock.nat0.sock", ".lock.other.sock"]) {
      const squat = `require("net").createServer().listen("${state}/${f}")`;
      const t = await lab.host.tryRun(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), "node", "-e", squat]);
      expect(t.exitCode, f).not.toBe(0);
      expect(String(t.stderr)).toMatch(/EACCES/);
      const l = await lab.host.tryRun(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), "ln", "-s", "/tmp", `${state}/${f}`]);
      expect(String(l.stderr)).toMatch(/Permission denied/);
      // Nor hold the waiters' queue (a flock of a root file, 0600, in the same directory).
      const q = await lab.host.tryRun(AS_NOBODY[0]!, [
        ...AS_NOBODY.slice(1),
        "flock",
        "-n",
        `${state}/${f}.queue`,
        "true",
      ]);
      expect(q.exitCode, f).not.toBe(0);
      expect(String(q.stderr)).toMatch(/Permission denied/);
    }
    const t0 = Date.now();
    expect((await lab.hook("qemu-natup", "vm0")).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 90_000);

  it("holds off a second hook while held, and a holder killed with SIGKILL frees it", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    await lab.host.sh(`mkdir -p ${lab.conf.stateDir}`);
    const holder = execa("node", ["--import", "tsx", "test/helpers/hold-lock.ts", lab.conf.stateDir, "nat0"], {
      cwd: ROOT,
      reject: false,
    });
    stop.push(() => holder.kill("SIGKILL"));
    await printed(holder, "held");
    const hook = lab.host.spawn(program("qemu-natup"), ["vm0"], { env: { KVMNET_CONFIG: lab.conf.file } });
    let done = false;
    void hook.then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(done, `natup ran while another process held the lock: ${JSON.stringify(done && (await hook).stderr)}`).toBe(
      false,
    );
    expect(await lab.host.sh(`ls /sys/class/net | grep -c ${lab.bridge} || true`)).toBe("0");
    holder.kill("SIGKILL");
    const r = await hook;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(await lab.host.sh(`cat /sys/class/net/vm0/master/uevent | grep INTERFACE`)).toBe(`INTERFACE=${lab.bridge}`);
  }, 90_000);

  it("a lock left by a holder killed before the hook started is found stale and taken at once", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    await lab.addGuest("vm1");
    const state = lab.conf.stateDir;
    await lab.host.sh(`mkdir -p ${state}`);
    const holder = execa("node", ["--import", "tsx", "test/helpers/hold-lock.ts", state, "nat0"], {
      cwd: ROOT,
      reject: false,
    });
    stop.push(() => holder.kill("SIGKILL"));
    await printed(holder, "held");
    holder.kill("SIGKILL");
    await holder;
    // The killed holder's socket is still there, and nobody listens on it.
    expect(lstatSync(`${state}/.lock.nat0.sock`).isSocket()).toBe(true);
    const t0 = Date.now();
    const r = await lab.host.spawn(program("qemu-natup"), ["vm0"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000); // not the 60 s a lock still held would take
    expect(lstatSync(`${state}/.lock.nat0.sock`, { throwIfNoEntry: false })).toBeUndefined();
    // Any other file at the name (not a socket) is stale too.
    writeFileSync(`${state}/.lock.nat0.sock`, "");
    const r2 = await lab.host.spawn(program("qemu-natup"), ["vm1"], { env: { KVMNET_CONFIG: lab.conf.file } });
    expect(r2.exitCode, String(r2.stderr)).toBe(0);
    expect(await lab.host.sh(`cat /sys/class/net/vm1/master/uevent | grep INTERFACE`)).toBe(`INTERFACE=${lab.bridge}`);
  }, 90_000);
});
