// The per-network lock (issue 9 #5): only root can take it, and a holder killed with SIGKILL frees it.
import { afterEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
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
  afterEach(() => {
    for (const s of stop.splice(0)) s();
    lab?.destroy();
  });

  it("a non-root user can neither take nor block it: natup still runs at once", async () => {
    lab = makeLab();
    lab.addGuest("vm0");
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
    const r = lab.hook("qemu-natup", "vm0");
    expect(r.code, r.stderr).toBe(0);
    // Now the lock file exists: root's, 0600; nobody cannot open it, so cannot flock it.
    const st = statSync(`${state}/.lock.nat0`);
    expect([st.uid, (st.mode & 0o777).toString(8)]).toEqual([0, "600"]);
    for (const f of [".lock.nat0", ".lock.other"]) {
      const t = lab.host.tryRun(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), "flock", "-n", `${state}/${f}`, "true"]);
      expect(t.exitCode, f).not.toBe(0);
      expect(String(t.stderr)).toMatch(/Permission denied/);
    }
    const t0 = Date.now();
    expect(lab.hook("qemu-natup", "vm0").code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 90_000);

  it("holds off a second hook while held, and a holder killed with SIGKILL frees it", async () => {
    lab = makeLab();
    lab.addGuest("vm0");
    lab.host.sh(`mkdir -p ${lab.conf.stateDir}`);
    const holder = execa("node", ["--import", "tsx", "test/helpers/hold-lock.ts", `${lab.conf.stateDir}/.lock.nat0`], {
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
    expect(lab.host.sh(`ls /sys/class/net | grep -c ${lab.bridge} || true`)).toBe("0");
    holder.kill("SIGKILL");
    const r = await hook;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(lab.host.sh(`cat /sys/class/net/vm0/master/uevent | grep INTERFACE`)).toBe(`INTERFACE=${lab.bridge}`);
  }, 90_000);
});
