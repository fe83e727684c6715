// Extracts the uncompressed ELF vmlinux from a bzImage so that QEMU can boot it through its PVH entry
// point: under TCG this skips the in-guest decompression (about 5 s of every boot here).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { DebianKernel } from "./kmod.js";

function run(tools: string[][], input: Buffer): Buffer | undefined {
  for (const [cmd, ...args] of tools) {
    try {
      return execFileSync(cmd!, args, { input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "ignore"] });
    } catch {
      /* tool missing or failed: try the next one */
    }
  }
  return undefined;
}

function decompressPayload(p: Buffer): Buffer | undefined {
  if (p.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    // busybox's xz cannot decode the kernel's BCJ-filtered stream: this needs xz-utils.
    const out = run([["xz", "-dc", "--single-stream"]], p);
    if (!out)
      process.stderr.write("test/vm: no working xz, booting the bzImage (~5 s slower): apt-get install xz-utils\n");
    return out;
  }
  if (p[0] === 0x1f && p[1] === 0x8b) return gunzipSync(p);
  if (p.readUInt32LE(0) === 0xfd2fb528) return run([["zstd", "-dc"]], p);
  return undefined;
}

// Returns a cached vmlinux (ELF with a PVH note) for k, or k.kernel itself when that is not possible
// (kernel without CONFIG_PVH, unknown compression, missing xz) or KVMNET_VM_NO_PVH is set.
export function bootableKernel(k: DebianKernel, cacheDir: string): string {
  if (process.env.KVMNET_VM_NO_PVH) return k.kernel;
  const config = `/boot/config-${k.version}`;
  if (!existsSync(config) || !/^CONFIG_PVH=y$/m.test(readFileSync(config, "utf8"))) return k.kernel;
  const st = statSync(k.kernel);
  const key = createHash("sha256").update(`${k.kernel}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 8);
  const out = join(cacheDir, `vmlinux-${k.version}-${key}`);
  if (existsSync(out)) return out;
  const bz = readFileSync(k.kernel);
  if (bz.readUInt32LE(0x202) !== 0x53726448 /* "HdrS" */) return k.kernel;
  const setupSects = bz[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + bz.readUInt32LE(0x248);
  const payload = bz.subarray(start, start + bz.readUInt32LE(0x24c));
  const elf = decompressPayload(payload);
  if (!elf || elf.readUInt32BE(0) !== 0x7f454c46) return k.kernel;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, elf);
  renameSync(tmp, out);
  return out;
}
