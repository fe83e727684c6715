// What a hook takes from its environment: PATH's absolute entries only, with the system directories added,
// so a relative entry cannot make root run a program from the current directory, and a PATH without sbin
// (a user's, or libvirt's) still finds ip, nft and dnsmasq.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { safePath } from "../../src/env.js";
import { makeLab, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

describe("safePath", () => {
  it("keeps absolute entries in order, drops relative and empty ones, appends the system directories once", () => {
    expect(safePath(".:/opt/bin::bin:/usr/bin")).toBe(
      "/opt/bin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin",
    );
    expect(safePath(undefined)).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });
});

describe("a hook's PATH", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("a relative PATH entry is not searched, and a PATH without sbin still finds the tools", async () => {
    lab = await makeLab();
    await lab.addGuest("vm0");
    const cwd = `${lab.conf.dir}/cwd`;
    mkdirSync(cwd);
    for (const tool of ["ip", "nft", "dnsmasq"]) {
      writeFileSync(`${cwd}/${tool}`, `#!/bin/sh\ntouch ${cwd}/ran-${tool}\nexit 1\n`);
      chmodSync(`${cwd}/${tool}`, 0o755);
    }
    const r = await execa(
      "/usr/sbin/ip",
      ["netns", "exec", lab.host.name, process.execPath, program("qemu-natup"), "vm0"],
      {
        cwd,
        env: { PATH: ".:bin:/usr/bin", KVMNET_CONFIG: lab.conf.file },
        extendEnv: false,
        reject: false,
      },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(["ip", "nft", "dnsmasq"].filter((t) => existsSync(`${cwd}/ran-${t}`))).toEqual([]);
    expect((await lab.dhcp(lab.guests[0]!))?.ip).toMatch(/^192\.0\.2\.1\d\d$/);
  });
});
