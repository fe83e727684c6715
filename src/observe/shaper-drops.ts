// What kvmnet's shapers dropped, for `kvmnet metrics` (never on a hook's path): one `tc -s -j qdisc show` for all
// devices, summed per device over kvmnet's shaper and the fq_codel under it.
import type { Exec } from "../host/exec.js";
import { SHAPER_HANDLE } from "../render/tc.js";

/** Packets dropped by kvmnet's shaper (and its child qdisc) per device. */
export function readShaperDrops(exec: Exec): Map<string, number> {
  const r = exec.tryRun("tc", ["-s", "-j", "qdisc", "show"]);
  return r.ok ? parseShaperDrops(r.stdout) : new Map();
}

/** The drops in `tc -s -j qdisc show` TEXT of each device that has kvmnet's shaper. */
export function parseShaperDrops(text: string): Map<string, number> {
  const qdiscs = JSON.parse(text || "[]") as { dev?: string; handle?: string; parent?: string; drops?: number }[];
  const out = new Map<string, number>();
  const ours = (q: (typeof qdiscs)[number]) => q.handle === SHAPER_HANDLE || q.parent === `${SHAPER_HANDLE}1`;
  for (const q of qdiscs) if (q.dev && ours(q)) out.set(q.dev, (out.get(q.dev) ?? 0) + (q.drops ?? 0));
  return out;
}
