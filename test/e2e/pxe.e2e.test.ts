// Network boot end to end: a QEMU guest with no disk, no -kernel, `-boot n`. QEMU's iPXE ROM on virtio-net gets its
// lease and boot file (an iPXE script) from kvmnet's dnsmasq, fetches the kernel and initrd over TFTP from
// tftp_root, boots them, and the booted guest gets its lease and reaches the outside.
import { copyFileSync, chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeLab, OUTSIDE, type Lab } from "../netns/models-lab.js";
import { buildGuestInitramfs, guestCmdline } from "../vm/initramfs.js";
import { defaultCacheDir } from "../vm/initrd.js";
import { startQemu, type QemuRun } from "../vm/qemu.js";
import { CASE_TIMEOUT, prepare, type E2E } from "./guests.js";

const GATEWAY = "192.0.2.1";
const ROM = "/usr/lib/ipxe/qemu/pxe-virtio.rom";

let e: E2E;
// The compressed kernel: iPXE boots a bzImage, not the ELF vmlinux the other guests use with -kernel.
let bzImage: string;
let lab: Lab | undefined;
let qemu: QemuRun | undefined;
beforeAll(async () => {
  e = await prepare();
  bzImage = (await buildGuestInitramfs(defaultCacheDir())).bzImage;
}, CASE_TIMEOUT);
afterEach(async () => {
  if (qemu) {
    qemu.kill();
    await qemu.exited;
  }
  qemu = undefined;
  await lab?.destroy();
  lab = undefined;
});

describe("network boot", () => {
  it(
    "a diskless guest boots by PXE from tftp_root, then gets its lease and reaches the outside",
    async () => {
      const root = { dir: "" };
      lab = await makeLab({
        body: (br) => `[nat0]
mode = nat
bridge = ${br}
address = ${GATEWAY}/24
dhcp_range = 192.0.2.100,192.0.2.199
tftp_root = TFTPROOT
boot_file = boot.ipxe
`,
      });
      root.dir = join(lab.conf.dir, "tftp");
      mkdirSync(root.dir, { mode: 0o755 });
      chmodSync(root.dir, 0o755);
      copyFileSync(bzImage, join(root.dir, "vmlinuz"));
      copyFileSync(e.initrd, join(root.dir, "initrd"));
      for (const f of ["vmlinuz", "initrd"]) chmodSync(join(root.dir, f), 0o644);
      const cmdline = guestCmdline({ ip: "dhcp", ping: [GATEWAY, OUTSIDE], tries: 3 });
      writeFileSync(
        join(root.dir, "boot.ipxe"),
        `#!ipxe\nkernel tftp://${GATEWAY}/vmlinuz ${cmdline}\ninitrd tftp://${GATEWAY}/initrd\nboot\n`,
        { mode: 0o644 },
      );
      const { readFileSync } = await import("node:fs");
      writeFileSync(lab.conf.file, readFileSync(lab.conf.file, "utf8").replace("TFTPROOT", root.dir));

      qemu = startQemu({
        args: [
          "-accel",
          "tcg",
          "-m",
          "256",
          "-nographic",
          "-no-reboot",
          "-boot",
          "n",
          "-netdev",
          `tap,id=n0,ifname=vm0,script=${e.installed.bin("qemu-natup")},downscript=${e.installed.bin("qemu-natdown")}`,
          "-device",
          `virtio-net-pci,netdev=n0,mac=52:54:00:00:0b:0b,disable-legacy=on,bootindex=1,romfile=${ROM}`,
        ],
        netns: lab.host.name,
        env: { KVMNET_CONFIG: lab.conf.file },
        timeoutMs: 540_000,
      });
      const lease = await qemu.waitForLine(/KVMNET-RESULT lease /, 480_000);
      expect(lease.text).toMatch(/lease ip=192\.0\.2\.1\d\d\/24 router=192\.0\.2\.1/);
      const out = await qemu.waitForLine(new RegExp(`KVMNET-RESULT ping ${OUTSIDE.replace(/\./g, "\\.")} `), 120_000);
      expect(out.text).toMatch(/ ok/);
      // iPXE's own console: the boot file and next-server from the DHCP reply, the kernel fetched over TFTP.
      const console = qemu.output();
      expect(console).toContain("Next server: 192.0.2.1");
      expect(console).toContain("Filename: boot.ipxe");
      expect(console).toMatch(/tftp:\/\/192\.0\.2\.1\/vmlinuz\.\.\.[^\n]*\bok\b/);
    },
    CASE_TIMEOUT,
  );
});
