// The tiny test guest: Debian's kernel plus a busybox-static initramfs with virtio-net whose /init
// (init/guest-init.sh) takes kvmnet.* instructions from the kernel command line.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildCachedInitramfs, type BootFiles } from "./initrd.js";

// virtio-net for QEMU's virtio-net-pci, in load order (resolveModules adds anything modules.dep asks for).
export const GUEST_MODULES = [
  "virtio_ring",
  "virtio",
  "virtio_pci_legacy_dev",
  "virtio_pci_modern_dev",
  "virtio_pci",
  "failover",
  "net_failover",
  "virtio_net",
];

const initDir = fileURLToPath(new URL("./init/", import.meta.url));

// Builds (or reuses, keyed by kernel version and inputs) the guest initramfs in outDir.
export async function buildGuestInitramfs(outDir: string): Promise<BootFiles> {
  return buildCachedInitramfs({
    outDir,
    name: "kvmnet-guest",
    modules: GUEST_MODULES,
    files: [
      { path: "init", data: readFileSync(initDir + "guest-init.sh"), mode: 0o755 },
      { path: "etc/kvmnet/udhcpc.script", data: readFileSync(initDir + "udhcpc.script"), mode: 0o755 },
    ],
  });
}

// Re-exported so that callers find the whole guest API here.
export { bootGuest, guestCmdline, type GuestOptions, type GuestHandle, type GuestResult } from "./guest.js";
