// Runs scripts inside Debian's kernel under QEMU on this machine's own root filesystem.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInDebianKernelVM } from "./hostvm.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/bin/qemu-system-x86_64");

describe.skipIf(!canRun)("runInDebianKernelVM", () => {
  let dir: string;
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "kvmnet-hostvm-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("has 802.1Q VLAN devices (module auto-loaded), node, and a writable /tmp", async () => {
    const r = await runInDebianKernelVM({
      script: script(
        "vlan.sh",
        [
          "set -eu",
          'echo "kernel $(uname -r)"',
          "modprobe 8021q",
          "ip link add vmd0 type dummy", // dummy is auto-loaded by the VM's kernel
          "ip link add link vmd0 name vmd0.10 type vlan id 10",
          "ip link set vmd0 up && ip link set vmd0.10 up",
          "ip -d -o link show vmd0.10",
          "ip netns add inner && ip link set vmd0.10 netns inner && ip -n inner -o link show",
          'echo "node $(node --version)"',
          "echo written > /tmp/out.txt && cat /tmp/out.txt",
          'echo "script dir ${0%/*}"',
        ].join("\n") + "\n",
      ),
      timeoutMs: 180_000,
    });
    expect(r.exitCode, r.console).toBe(0);
    expect(r.output).toMatch(/^kernel \d+\.\d+\S*-amd64$/m);
    expect(r.output).toMatch(/vmd0\.10@vmd0: .*vlan protocol 802\.1Q id 10/);
    expect(r.output).toMatch(/^\d+: vmd0\.10@if\d+: /m);
    expect(r.output).toMatch(/^node v\d+\.\d+\.\d+$/m);
    expect(r.output).toContain("written\n");
    expect(r.output).toContain(`script dir ${dir}\n`);
    console.log(
      `hostvm: script started ${Math.round(r.bootMs)} ms after QEMU start, VM ran ${Math.round(r.totalMs)} ms`,
    );
  }, 200_000);

  it("returns the script exit code and its stderr", async () => {
    const r = await runInDebianKernelVM({
      script: script("fail.sh", "echo to-stdout\necho to-stderr >&2\nexit 7\n"),
      timeoutMs: 180_000,
    });
    expect(r.exitCode).toBe(7);
    expect(r.output).toBe("to-stdout\nto-stderr\n");
  }, 200_000);

  it("rejects when the script does not finish in time", async () => {
    await expect(runInDebianKernelVM({ script: script("hang.sh", "sleep 600\n"), timeoutMs: 8_000 })).rejects.toThrow(
      /timed out after 8000 ms/,
    );
  }, 60_000);
});
