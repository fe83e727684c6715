// Finds a Debian kernel image with its modules, and resolves kernel modules (with dependencies, in
// load order) from its modules.dep, decompressing .ko.xz / .ko.zst / .ko.gz as needed.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

// A kernel image with a matching /lib/modules/VERSION directory.
export interface DebianKernel {
  version: string;
  kernel: string;
  modulesDir: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const nx = Number(x);
    const ny = Number(y);
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

// Picks the newest /boot/vmlinuz-* that has modules installed (or KVMNET_VM_KERNEL_VERSION if set).
export function findDebianKernel(version = process.env.KVMNET_VM_KERNEL_VERSION): DebianKernel {
  const usable = (v: string) => existsSync(`/boot/vmlinuz-${v}`) && existsSync(`/lib/modules/${v}/modules.dep`);
  let candidates: string[];
  if (version) {
    candidates = [version];
  } else {
    const boot = existsSync("/boot") ? readdirSync("/boot") : [];
    candidates = boot.filter((f) => f.startsWith("vmlinuz-")).map((f) => f.slice("vmlinuz-".length));
    candidates.sort(compareVersions).reverse();
  }
  const v = candidates.find(usable);
  if (!v) {
    throw new Error(
      `no usable kernel: need /boot/vmlinuz-VER and /lib/modules/VER/modules.dep ` +
        `(apt-get install linux-image-amd64)${version ? ` for version ${version}` : ""}`,
    );
  }
  return { version: v, kernel: `/boot/vmlinuz-${v}`, modulesDir: `/lib/modules/${v}` };
}

function modName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

// A module to put into an initramfs: its name and its uncompressed .ko contents.
export interface ResolvedModule {
  name: string;
  path: string;
  data: Buffer;
}

function decompress(file: string): Buffer {
  const raw = readFileSync(file);
  if (file.endsWith(".ko")) return raw;
  if (file.endsWith(".gz")) return gunzipSync(raw);
  const tool = file.endsWith(".xz") ? ["xz", "busybox"] : ["zstd"];
  for (const t of tool) {
    try {
      const args = t === "busybox" ? ["xz", "-dc"] : ["-dc"];
      return execFileSync(t, args, { input: raw, maxBuffer: 256 * 1024 * 1024, stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  throw new Error(`cannot decompress ${file}: install ${tool[0] === "xz" ? "xz-utils" : "zstd"}`);
}

// Returns the named modules plus everything they depend on, dependencies first, each once.
// Names missing from modules.dep but listed in modules.builtin are skipped (built into the kernel).
export function resolveModules(k: DebianKernel, names: string[]): ResolvedModule[] {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of readFileSync(`${k.modulesDir}/modules.dep`, "utf8").split("\n")) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const path = m[1]!;
    const list = m[2]!.split(/\s+/).filter(Boolean);
    deps.set(modName(path), { path, deps: list.map(modName) });
  }
  const builtinFile = `${k.modulesDir}/modules.builtin`;
  const builtin = new Set(
    existsSync(builtinFile) ? readFileSync(builtinFile, "utf8").split("\n").filter(Boolean).map(modName) : [],
  );
  const out: ResolvedModule[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, chain: string[]) => {
    const name = raw.replace(/-/g, "_");
    if (seen.has(name)) return;
    const entry = deps.get(name);
    if (!entry) {
      if (builtin.has(name)) return;
      throw new Error(
        `kernel module ${name} not found in ${k.modulesDir}/modules.dep (needed by ${chain.join(" <- ") || "caller"})`,
      );
    }
    seen.add(name);
    // modules.dep lists the full closure; the last entries are the most basic, so visit them first.
    for (const d of [...entry.deps].reverse()) visit(d, [name, ...chain]);
    out.push({ name, path: entry.path, data: decompress(`${k.modulesDir}/${entry.path}`) });
  };
  for (const n of names) visit(n, []);
  return out;
}
