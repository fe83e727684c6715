// The DHCP checksum fix-up (a tc `csum` action on the bridge's egress, see src/decide/csum.ts): whether this
// kernel can have it (act_csum and cls_u32, loaded, built in or as modules: files only), and whether a bridge has
// it (one `tc filter show`, read only by `kvmnet up`, plan and status: a hook makes it with the bridge).
import { existsSync, readFileSync } from "node:fs";
import type { Exec } from "../host/exec.js";
import { CSUM_PREF } from "../decide/csum.js";

function release(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return "";
  }
}

// A kernel module NAME (as in /sys/module) is there to use: loaded, built in, or installed for this kernel.
function hasModule(name: string, path: string): boolean {
  if (existsSync(`/sys/module/${name}`)) return true;
  const dir = `/lib/modules/${release()}`;
  try {
    if (readFileSync(`${dir}/modules.builtin`, "utf8").includes(`${path}.ko\n`)) return true;
    return readFileSync(`${dir}/modules.dep`, "utf8").includes(`${path}.ko`);
  } catch {
    return false;
  }
}

/** True when this kernel can carry the fix-up (the tc classifier and action it needs). */
export function csumSupported(): boolean {
  return hasModule("act_csum", "kernel/net/sched/act_csum") && hasModule("cls_u32", "kernel/net/sched/cls_u32");
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
