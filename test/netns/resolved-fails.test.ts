// A hook's cold start on a host where systemd-resolved runs but `resolvectl` fails: the VM gets its network all the
// same, and the failure is a warning naming the command and `kvmnet doctor`. Registering the bridge with resolved
// only lets the host resolve the guests' names; it must never cost a VM its network (the cold-start undo).
// resolved is looked for in /run/systemd/resolve and as a process named systemd-resolve in the host's namespace:
// here a copy of sleep under that name, and a tmpfs over /run/systemd in a private mount namespace of the hook
// only, with a resolvectl on PATH that always fails. The real resolved is in test/vm/resolved.test.ts.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

let lab: Lab | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await lab?.destroy();
  lab = undefined;
});

// /run/systemd exists on a systemd host; the tmpfs hides it from the hook alone (unshare -m: private propagation).
const WITH_RESOLVED_RUN = 'mount -t tmpfs kvmnet-test /run/systemd && mkdir /run/systemd/resolve && exec "$0" "$@"';

describe("resolvectl failing on a hook's cold start", () => {
  it("is a warning: the network comes up and the guest gets its lease", { timeout: 180_000 }, async () => {
    lab = await makeLab({ section: (br) => natSection(br, "domain = lab.example\n") });
    const bin = join(lab.conf.dir, "bin");
    mkdirSync(bin);
    const calls = join(lab.conf.dir, "resolvectl.calls");
    writeFileSync(
      join(bin, "resolvectl"),
      `#!/bin/sh\necho "$*" >> ${calls}\necho "Failed to set DNS configuration: Access denied" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const fakeResolved = join(bin, "systemd-resolved");
    copyFileSync("/bin/sleep", fakeResolved);
    const resolved = lab.host.spawn(fakeResolved, ["600"]);
    const host = lab.host;
    const conf = lab.conf.file;
    cleanups.push(async () => {
      // kvmnet down first, with the fake resolved gone: it stops the network's dnsmasq by its recorded pid.
      resolved.kill("SIGTERM");
      await resolved;
      await host.tryRun(program("kvmnet"), ["down", "nat0"], { env: { KVMNET_CONFIG: conf }, timeout: 60_000 });
    });
    // ip netns exec execs the command itself: the pid is the fake resolved's, named as resolved's comm is.
    await expect
      .poll(() => existsSync(`/proc/${resolved.pid}/comm`) && readFileSync(`/proc/${resolved.pid}/comm`, "utf8"))
      .toBe("systemd-resolve\n");

    const web = await lab.addGuest("vm0");
    const r = await lab.host.tryRun("unshare", ["-m", "sh", "-c", WITH_RESOLVED_RUN, program("qemu-natup"), "vm0"], {
      env: { KVMNET_CONFIG: conf, PATH: `${bin}:${process.env.PATH ?? ""}` },
      timeout: 60_000,
    });
    const stderr = String(r.stderr);
    // resolved was seen and resolvectl was run (and failed), on the bridge the hook made.
    expect(readFileSync(calls, "utf8")).toContain(`dns ${lab.bridge} 192.0.2.1`);
    expect(r.exitCode, stderr).toBe(0);
    expect(stderr).toMatch(new RegExp(`warning: resolvectl dns ${lab.bridge} 192\\.0\\.2\\.1 failed: .*Access denied`));
    expect(stderr).toContain("kvmnet doctor");
    expect(stderr).not.toMatch(/undone/);
    // The network stayed: the tap is on the bridge and the guest gets its lease.
    expect(await lab.host.sh(`ip -o link show master ${lab.bridge}`)).toContain("vm0");
    expect((await lab.dhcp(web))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });
});
