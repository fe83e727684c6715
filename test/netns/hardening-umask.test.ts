// A hook first run under umask 027 or 077 (CIS-hardened hosts; issue 14 #1): dnsmasq reads its hostsfile and
// addn-hosts after dropping root for nobody, so kvmnet must make state_dir 0755 and those files 0644 whatever
// the umask, or static leases and names are silently ignored.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applySteps } from "../../src/apply/apply.js";
import { fakeExec } from "../helpers/fake-exec.js";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe("whatever the umask", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it.each(["027", "077"])("first natup under umask %s: a guest gets its static lease and name", async (umask) => {
    lab = await makeLab({ section: (br) => natSection(br, "host.web = 52:54:00:88:88:88,192.0.2.10\n") });
    const web = await lab.addGuest("vm1", "52:54:00:88:88:88");
    const r = await lab.host.tryRun("sh", ["-c", `umask ${umask}; exec ${program("qemu-natup")} vm1`], {
      env: { KVMNET_CONFIG: lab.conf.file },
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const s = lab.conf.stateDir;
    expect([s, lab.conf.leaseDir].map(mode)).toEqual(["755", "755"]);
    expect(["hostsfile", "addnhosts", "dnsmasq.conf"].map((f) => mode(`${s}/nat0.${f}`))).toEqual([
      "644",
      "644",
      "644",
    ]);
    expect((await lab.dhcp(web))?.ip).toBe("192.0.2.10");
    expect(await web.sh("busybox nslookup web 192.0.2.1")).toMatch(/192\.0\.2\.10/);
  });

  it("apply sets the modes itself (not only through the programs' umask)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvmnet-umask-"));
    const old = process.umask(0o077);
    try {
      applySteps(fakeExec().exec, [
        { kind: "mkdir", path: `${dir}/a/b` },
        { kind: "write", path: `${dir}/a/b/f`, content: "x\n" },
      ]);
    } finally {
      process.umask(old);
    }
    expect([`${dir}/a`, `${dir}/a/b`, `${dir}/a/b/f`].map(mode)).toEqual(["755", "755", "644"]);
    rmSync(dir, { recursive: true });
  });
});
