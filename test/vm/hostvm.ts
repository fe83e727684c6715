// Runs a bash script inside a QEMU VM (TCG) booting Debian's kernel on this machine's own root
// filesystem (shared read-only over 9p under a tmpfs overlay), for kernel features the running
// kernel lacks (802.1Q, bridge VLAN filtering, ...): the VM's kernel auto-loads modules from /lib/modules.
import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCachedInitramfs, defaultCacheDir, type BootFiles } from "./initrd.js";
import { startQemu } from "./qemu.js";

// virtio-pci, 9p over virtio and overlayfs, in load order (resolveModules adds any dependencies).
export const HOSTVM_MODULES = [
  "virtio_ring",
  "virtio",
  "virtio_pci_legacy_dev",
  "virtio_pci_modern_dev",
  "virtio_pci",
  "9pnet",
  "9pnet_virtio",
  "netfs",
  "fscache",
  "9p",
  "overlay",
];

const initDir = fileURLToPath(new URL("./init/", import.meta.url));

// Builds (or reuses from outDir) the kernel + initramfs pair for runInDebianKernelVM.
export async function buildHostVMInitramfs(outDir: string = defaultCacheDir()): Promise<BootFiles> {
  return buildCachedInitramfs({
    outDir,
    name: "kvmnet-hostvm",
    modules: HOSTVM_MODULES,
    files: [
      { path: "init", data: readFileSync(initDir + "hostvm-init.sh"), mode: 0o755 },
      { path: "etc/kvmnet/stage2.sh", data: readFileSync(initDir + "hostvm-stage2.sh"), mode: 0o755 },
    ],
  });
}

// Options: script is an absolute path on this machine (the VM sees the same tree; /tmp included).
export interface HostVMOptions {
  script: string;
  timeoutMs: number;
  memMB?: number | undefined;
  cpus?: number | undefined;
  cacheDir?: string | undefined;
  append?: string[] | undefined;
  qemuArgs?: string[] | undefined;
}

// What the script printed (stdout and stderr, between the markers) and its exit code; console is
// everything QEMU printed, bootMs the time from QEMU start until the script began.
export interface HostVMResult {
  exitCode: number;
  output: string;
  console: string;
  bootMs: number;
  totalMs: number;
}

// Boots the VM, runs `bash opts.script` as root, powers off; rejects on timeout or a broken boot.
export async function runInDebianKernelVM(opts: HostVMOptions): Promise<HostVMResult> {
  if (!isAbsolute(opts.script) || /[\s"]/.test(opts.script)) {
    throw new Error(`script must be an absolute path without whitespace: ${opts.script}`);
  }
  const boot = await buildHostVMInitramfs(opts.cacheDir);
  const cmdline = [
    "console=ttyS0",
    "quiet",
    "loglevel=3",
    "panic=-1",
    `kvmnet.run=${opts.script}`,
    ...(opts.append ?? []),
  ].join(" ");
  if (cmdline.length > 2000) throw new Error(`kernel command line too long (${cmdline.length} bytes)`);
  // One vCPU boots faster under TCG on small hosts; at most 2.
  const cpus = Math.max(1, Math.min(opts.cpus ?? 1, 2));
  const args = [
    "-accel",
    cpus > 1 ? "tcg,thread=multi" : "tcg",
    "-smp",
    String(cpus),
    "-m",
    String(opts.memMB ?? 1536),
    "-nographic",
    "-no-reboot",
    "-nic",
    "none",
    "-kernel",
    boot.kernel,
    "-initrd",
    boot.initrd,
    "-append",
    cmdline,
    "-virtfs",
    "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    ...(opts.qemuArgs ?? []),
  ];
  const run = startQemu({ args, timeoutMs: opts.timeoutMs });
  const exit = await run.exited;
  const lines = run.lines();
  const begin = lines.findIndex((l) => l.text.endsWith("KVMNET-BEGIN"));
  const end = lines.findIndex((l, i) => i > begin && /^KVMNET-EXIT \d+$/.test(l.text));
  const consoleText = run.output();
  if (begin < 0 || end < 0) {
    const why = exit.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : `QEMU exited (${exit.exitCode ?? exit.signal})`;
    const error = lines.find((l) => l.text.startsWith("KVMNET-ERROR"))?.text ?? "";
    throw new Error(
      `VM script did not finish: ${why} ${error}\n--- console ---\n${consoleText}\n--- stderr ---\n${run.stderr()}`,
    );
  }
  return {
    exitCode: Number(lines[end]!.text.split(" ")[1]),
    output: lines
      .slice(begin + 1, end)
      .map((l) => l.text + "\n")
      .join(""),
    console: consoleText,
    bootMs: lines[begin]!.atMs,
    totalMs: exit.durationMs,
  };
}
