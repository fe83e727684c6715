// Fast checks of the VM toolkit's pieces (no QEMU): cpio writer, module order, command line, parsing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { guestCmdline, parseResultLine } from "./guest.js";
import { GUEST_MODULES } from "./initramfs.js";
import { HOSTVM_MODULES } from "./hostvm.js";
import { findDebianKernel, resolveModules } from "./kmod.js";
import { writeNewc } from "./newc.js";

const hasBusybox = existsSync("/bin/busybox") || existsSync("/usr/bin/busybox");
const hasKernel = (() => {
  try {
    findDebianKernel();
    return true;
  } catch {
    return false;
  }
})();

describe("VM toolkit", () => {
  it.skipIf(!hasBusybox)("writes newc archives that cpio reads back", () => {
    const archive = writeNewc([
      { type: "dir", path: "etc" },
      { type: "file", path: "etc/a.txt", data: "hello\n" },
      { type: "file", path: "init", data: "x".repeat(1001), mode: 0o755 },
      { type: "symlink", path: "bin-sh", target: "busybox" },
      { type: "chardev", path: "console", major: 5, minor: 1 },
    ]);
    const list = execFileSync("busybox", ["cpio", "-tv"], {
      input: archive,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "ignore"],
    });
    expect(list).toMatch(/^drwxr-xr-x .* etc$/m);
    expect(list).toMatch(/^-rw-r--r-- .* 6 .* etc\/a\.txt$/m);
    expect(list).toMatch(/^-rwxr-xr-x .* 1001 .* init$/m);
    expect(list).toMatch(/^lrwxrwxrwx .* bin-sh -> busybox$/m);
    expect(list).toMatch(/^crw------- .* console$/m);
  });

  it.skipIf(!hasKernel)("resolves modules with dependencies first", () => {
    const k = findDebianKernel();
    const guest = resolveModules(k, GUEST_MODULES).map((m) => m.name);
    expect(guest).toEqual(expect.arrayContaining(GUEST_MODULES));
    const pos = (n: string) => guest.indexOf(n);
    expect(pos("virtio_ring")).toBeLessThan(pos("virtio"));
    expect(pos("virtio")).toBeLessThan(pos("virtio_pci"));
    expect(pos("net_failover")).toBeLessThan(pos("virtio_net"));
    const host = resolveModules(k, HOSTVM_MODULES).map((m) => m.name);
    expect(host.indexOf("9pnet")).toBeLessThan(host.indexOf("9pnet_virtio"));
    expect(host.indexOf("fscache")).toBeLessThan(host.indexOf("9p"));
    for (const m of resolveModules(k, ["virtio"])) expect(m.data.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  });

  it("builds the guest command line and refuses whitespace", () => {
    expect(guestCmdline({ ip: "dhcp", hostname: "g1", ping: ["192.0.2.1", "203.0.113.1"], wait: 5 })).toBe(
      "console=ttyS0 quiet panic=-1 kvmnet.ip=dhcp kvmnet.hostname=g1 kvmnet.ping=192.0.2.1,203.0.113.1 kvmnet.wait=5",
    );
    expect(() => guestCmdline({ hostname: "a b" })).toThrow(/whitespace/);
  });

  it("parses result lines", () => {
    const r = parseResultLine({
      text: "junk KVMNET-RESULT lease ip=192.0.2.5/24 router=192.0.2.1 dns= t=4.2",
      atMs: 12,
    });
    expect(r).toEqual({
      kind: "lease",
      args: [],
      fields: { ip: "192.0.2.5/24", router: "192.0.2.1", dns: "", t: "4.2" },
      atMs: 12,
    });
    expect(parseResultLine({ text: "KVMNET-RESULT ping 192.0.2.1 ok t=1", atMs: 0 })?.args).toEqual([
      "192.0.2.1",
      "ok",
    ]);
    expect(parseResultLine({ text: "Booting from ROM", atMs: 0 })).toBeUndefined();
  });
});
