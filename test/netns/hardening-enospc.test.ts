// A full state_dir (issue 9 #10): the error names the file kvmnet was writing (exit 1), and no temp file is
// left behind, however often it is tried. The state_dir is a tmpfs of a few KB, filled up, mounted in a
// private mount namespace of the hook's own (gone when it exits).
import { afterEach, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { makeLab, natSection, type Lab } from "../helpers/lab.js";
import { program } from "../helpers/netns.js";

describe("state_dir full", () => {
  let lab: Lab;
  afterEach(async () => await lab?.destroy());

  it("names the path, exits 1 and leaves no temp file, on every attempt", async () => {
    lab = await makeLab({ section: (br) => natSection(br, "host.web = 52:54:00:88:88:88,192.0.2.10\n") });
    await lab.addGuest("vm0");
    const s = lab.conf.stateDir;
    mkdirSync(s, { mode: 0o755 });
    const line =
      `mount -t tmpfs -o size=16k,mode=0755 kvmnet-full ${s} && (dd if=/dev/zero of=${s}/fill bs=1k 2>/dev/null || true) && ` +
      `{ KVMNET_CONFIG=${lab.conf.file} ${program("qemu-natup")} vm0; echo "exit=$?"; ls -A ${s}; }`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await lab.host.run("unshare", ["-m", "--propagation", "private", "sh", "-c", line]);
      expect(String(r.stderr)).toMatch(
        new RegExp(
          `^qemu-natup: command failed: write ${s}/nat0\\.(hostsfile|addnhosts|dnsmasq\\.conf): no space left on the device$`,
          "m",
        ),
      );
      const [exit, ...files] = String(r.stdout).split("\n");
      expect(exit).toBe("exit=1");
      expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    }
    // The tmpfs went with the hook's mount namespace: the lab's own state_dir is untouched.
    expect(await lab.host.sh(`ls -A ${s}`)).toBe("");
  });
});
