// The DHCP checksum fix-up (a tc `csum` action on the bridge's egress, see src/decide/csum-steps.ts): whether this
// kernel can have it (act_csum and cls_u32: loaded, built in or as modules, else as /proc/config.gz says; files
// only, read when a bridge is made or by kvmnet up), and whether a bridge has it (one `tc filter show`, read only by
// `kvmnet up`, plan and status: a hook makes it with the bridge).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Exec } from "../host/exec.js";
import { CSUM_PREF } from "../core/names.js";

/** Reads a file, or null when it cannot. */
export type ReadFile = (path: string) => Buffer | null;

function readRaw(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** A kernel module NAME (as in /sys/module) is there to use: loaded, built in, or installed for this kernel (PATH
 *  under /lib/modules/VERSION, without .ko). A kernel with no module tree (everything built in, as in many VM and
 *  container hosts) is asked its own config (CONFIG_SYMBOL=y). */
export function hasModule(
  read: ReadFile,
  exists: (path: string) => boolean,
  name: string,
  path: string,
  symbol: string,
) {
  if (exists(`/sys/module/${name}`)) return true;
  const dir = `/lib/modules/${read("/proc/sys/kernel/osrelease")?.toString().trim() ?? ""}`;
  const builtin = read(`${dir}/modules.builtin`);
  if (builtin?.includes(`${path}.ko\n`)) return true;
  const dep = read(`${dir}/modules.dep`);
  if (builtin || dep) return !!dep?.includes(`${path}.ko`);
  const config = read("/proc/config.gz");
  if (!config) return false;
  try {
    // node:zlib is loaded only here (it costs every start of a hook ~1 ms, and this is rarely reached).
    const { gunzipSync } = createRequire("/")("node:zlib") as typeof import("node:zlib");
    return new RegExp(`^CONFIG_${symbol}=y$`, "m").test(gunzipSync(config).toString());
  } catch {
    return false;
  }
}

/** True when this kernel can carry the fix-up (the tc classifier and action it needs). */
export function csumSupported(read: ReadFile = readRaw, exists: (path: string) => boolean = existsSync): boolean {
  return (
    hasModule(read, exists, "act_csum", "kernel/net/sched/act_csum", "NET_ACT_CSUM") &&
    hasModule(read, exists, "cls_u32", "kernel/net/sched/cls_u32", "NET_CLS_U32")
  );
}

/** True when BRIDGE's egress has kvmnet's checksum filter. */
export function hasCsumFilter(exec: Exec, bridge: string): boolean {
  const r = exec.tryRun("tc", ["filter", "show", "dev", bridge, "egress"]);
  return r.ok && csumInListing(r.stdout);
}

/** True when a `tc filter show` LISTING has a csum (udp) action in a u32 filter at kvmnet's preference (an
 *  action line belongs to the `filter` line above it; one at another preference is someone else's). */
export function csumInListing(listing: string): boolean {
  let ours = false;
  for (const line of listing.split("\n")) {
    if (line.startsWith("filter ")) ours = new RegExp(`\\bpref ${CSUM_PREF} u32\\b`).test(line);
    else if (ours && /\baction order \d+: csum \(udp\)/.test(line)) return true;
  }
  return false;
}

/** True when this kernel has the module NAME (see hasModule), from the files of this host. */
export function kernelHas(name: string, path: string, symbol: string): boolean {
  return hasModule(readRaw, existsSync, name, path, symbol);
}
