// Builds busybox-static initramfs images with kernel modules, cached on disk by a key over all inputs
// (kernel version and files, busybox, module list, init scripts). Shared by the guest and host VMs.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findDebianKernel, resolveModules, type DebianKernel } from "./kmod.js";
import { writeNewcGz, type CpioEntry } from "./newc.js";
import { bootableKernel } from "./vmlinux.js";

const FORMAT = "kvmnet-initrd-1";

// What to put into an initramfs besides busybox and the standard directories.
export interface InitramfsSpec {
  outDir: string;
  name: string;
  modules: string[];
  files: { path: string; data: Buffer | string; mode?: number }[];
  kernel?: DebianKernel | undefined;
}

// The kernel to boot (an extracted vmlinux when possible) and the initramfs built for it.
export interface BootFiles {
  kernel: string;
  bzImage: string;
  initrd: string;
  version: string;
  modules: string[];
}

// Locates busybox and checks it is statically linked (the initramfs has no libc).
export function findStaticBusybox(): string {
  const path = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (!path) throw new Error("busybox not found: apt-get install busybox-static");
  const elf = readFileSync(path);
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) {
      throw new Error(`${path} is dynamically linked: apt-get install busybox-static`);
    }
  }
  return path;
}

function stamp(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${st.mtimeMs}`;
}

// Builds (or reuses from spec.outDir) the initramfs; the file name carries the kernel version.
export async function buildCachedInitramfs(spec: InitramfsSpec): Promise<BootFiles> {
  const k = spec.kernel ?? findDebianKernel();
  const busybox = findStaticBusybox();
  const h = createHash("sha256");
  h.update(
    [FORMAT, spec.name, k.version, stamp(k.kernel), stamp(`${k.modulesDir}/modules.dep`), stamp(busybox)].join("\n"),
  );
  h.update(spec.modules.join(","));
  for (const f of spec.files) h.update(`\n${f.path}:${f.mode ?? 0}:`).update(f.data);
  const key = h.digest("hex").slice(0, 12);
  const initrd = join(spec.outDir, `${spec.name}-${k.version}-${key}.cpio.gz`);
  const listFile = `${initrd}.modules`;
  if (existsSync(initrd) && existsSync(listFile)) {
    const modules = readFileSync(listFile, "utf8").split("\n").filter(Boolean);
    return { kernel: bootableKernel(k, spec.outDir), bzImage: k.kernel, initrd, version: k.version, modules };
  }
  const mods = resolveModules(k, spec.modules);
  const entries: CpioEntry[] = [];
  for (const d of [
    "bin",
    "sbin",
    "etc",
    "etc/kvmnet",
    "lib",
    "lib/modules",
    "proc",
    "sys",
    "dev",
    "run",
    "tmp",
    "mnt",
    "root",
  ]) {
    entries.push({ type: "dir", path: d });
  }
  // The kernel opens /dev/console for init before anything is mounted.
  entries.push({ type: "chardev", path: "dev/console", major: 5, minor: 1, mode: 0o600 });
  entries.push({ type: "chardev", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  entries.push({ type: "file", path: "bin/busybox", data: readFileSync(busybox), mode: 0o755 });
  entries.push({ type: "symlink", path: "bin/sh", target: "busybox" });
  for (const m of mods) entries.push({ type: "file", path: `lib/modules/${m.name}.ko`, data: m.data });
  const names = mods.map((m) => m.name);
  entries.push({ type: "file", path: "etc/kvmnet/modules", data: names.join("\n") + "\n" });
  entries.push({ type: "file", path: "etc/kvmnet/kernel-version", data: k.version + "\n" });
  for (const f of spec.files) entries.push({ type: "file", path: f.path, data: f.data, mode: f.mode ?? 0o644 });
  mkdirSync(spec.outDir, { recursive: true });
  const tmp = `${initrd}.${process.pid}.tmp`;
  writeFileSync(tmp, writeNewcGz(entries));
  writeFileSync(`${listFile}.${process.pid}.tmp`, names.join("\n") + "\n");
  renameSync(tmp, initrd);
  renameSync(`${listFile}.${process.pid}.tmp`, listFile);
  return { kernel: bootableKernel(k, spec.outDir), bzImage: k.kernel, initrd, version: k.version, modules: names };
}

// Default cache directory for built images (override with KVMNET_VM_CACHE).
export function defaultCacheDir(): string {
  return process.env.KVMNET_VM_CACHE ?? join(process.env.TMPDIR ?? "/tmp", "kvmnet-vm-cache");
}
