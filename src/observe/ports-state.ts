// A network's VM ports as its policy (port_isolation, rate) sees them: each port's `isolated` flag and alias from
// sysfs, kvmnet's IFB devices of the network, and, where limits are wanted or recorded, the taps' qdiscs and
// ingress filters (one `tc -j -batch -` for all). On a hook's warm path this reads sysfs only: a tap's alias
// records the limits kvmnet gave it, and tc is asked only when they differ from the wanted ones.
import { readdirSync, readFileSync } from "node:fs";
import type { Exec } from "../host/exec.js";
import type { Network } from "../config/types.js";
import { portPolicy } from "../config/policy-keys.js";
import { vxlanDevName } from "../core/names.js";
import type { Intent } from "../intent.js";
import { traits } from "../modes.js";
import { kernelHas } from "./csum-support.js";
import type { Link } from "./links.js";
import { recordsRate, REDIRECT_PREF, SHAPER_HANDLE } from "../render/tc.js";

/** A tap's limits as tc shows them (bits per second; null: none of kvmnet's). */
export interface TapShape {
  /** kvmnet's shaper on the tap's egress, and whether fq_codel is under it. */
  down: { bits: number; fqCodel: boolean } | null;
  /** The device kvmnet's filter on the tap's ingress redirects to (null: no such filter). */
  redirect: string | null;
}

/** What the policy decisions read. */
export interface PortsObserved {
  /** Each VM port (and the tap being attached): its ifindex, bridge port `isolated` flag and alias. */
  ports: Record<string, { ifindex: number; isolated: boolean; alias: string }>;
  /** Taps whose tc state was looked at. */
  shape: Record<string, TapShape>;
  /** kvmnet's IFBs of this network: name, the tap its alias names, and its shaper's rate (null: none). */
  ifbs: { name: string; tap: string; bits: number | null }[];
  /** The kernel has fq_codel (looked at only where a shaper is to be made). */
  fqCodel: boolean;
}

const SYS = "/sys/class/net";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** Observe NET's VM ports on BRIDGE (and TAP, being attached) for its policy; null when there is nothing to see. */
export function observePorts(
  exec: Exec,
  net: Network,
  intent: Intent,
  bridge: Link | null,
  tap: Link | null,
): PortsObserved | null {
  const thorough = intent.action === "up" || intent.action === "down" || intent.action === "detach";
  if ((!net.policy && !thorough) || !traits(net).ownBridge) return null;
  // The modes with a policy have a bridge of their own: its only host port is a VXLAN device.
  const host = net.vxlan ? [vxlanDevName(net.vxlan)] : [];
  const names = [...(bridge?.ports ?? []).filter((p) => !host.includes(p))];
  if (tap && !names.includes(tap.name)) names.push(tap.name);
  const out: PortsObserved = { ports: {}, shape: {}, ifbs: [], fqCodel: false };
  for (const p of names) {
    const ifindex = Number(read(`${SYS}/${p}/ifindex`));
    if (!ifindex) continue;
    const isolated = read(`${SYS}/${p}/brport/isolated`) === "1";
    out.ports[p] = { ifindex, isolated, alias: read(`${SYS}/${p}/ifalias`) ?? "" };
  }
  const mark = `kvmnet:${net.name}:`;
  const ifbs = readdirSync(SYS)
    .filter((n) => /^kvi\d+$/.test(n))
    .map((name) => ({ name, alias: read(`${SYS}/${name}/ifalias`) ?? "" }))
    .filter((i) => i.alias.startsWith(mark));
  // Taps to ask tc about: where the recorded limits are not the wanted ones, or (thorough) where any are either.
  const look = Object.entries(out.ports)
    .filter(([p, s]) => {
      const want = portPolicy(net.policy, p).rate;
      return !recordsRate(s.alias, want) || (thorough && want !== null) || ifbs.some((i) => i.alias === `${mark}${p}`);
    })
    .map(([p]) => p);
  // Going down (a VM's down hook) only removes the tap's IFB: its name is all it needs.
  if (intent.action === "detach")
    out.ifbs = ifbs.map((i) => ({ name: i.name, tap: i.alias.slice(mark.length), bits: null }));
  if (intent.action === "detach" || (look.length === 0 && ifbs.length === 0)) return out;
  const script = ["qdisc show", ...look.map((p) => `filter show dev ${p} ingress`)].join("\n") + "\n";
  const r = exec.tryRun("tc", ["-j", "-force", "-batch", "-"], script);
  const arrays = r.stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("["))
    .map((l) => JSON.parse(l) as TcObject[]);
  const qdiscs = arrays[0] ?? [];
  look.forEach((p, i) => (out.shape[p] = tapShape(p, qdiscs, arrays[i + 1] ?? [])));
  out.ifbs = ifbs.map((i) => ({ name: i.name, tap: i.alias.slice(mark.length), bits: shaperBits(i.name, qdiscs) }));
  const wantsShaper = look.some((p) => portPolicy(net.policy, p).rate);
  out.fqCodel = wantsShaper && kernelHas("sch_fq_codel", "kernel/net/sched/sch_fq_codel", "NET_SCH_FQ_CODEL");
  return out;
}

/** One object of tc's JSON output (a qdisc or a filter). */
export interface TcObject {
  kind?: string;
  handle?: string;
  dev?: string;
  parent?: string;
  root?: boolean;
  pref?: number;
  options?: { rate?: number; actions?: { kind?: string; to_dev?: string }[] };
}

/** The rate (bits per second) of kvmnet's shaper on DEV among QDISCS (`tc -j qdisc show`), null when none. */
export function shaperBits(dev: string, qdiscs: TcObject[]): number | null {
  const q = qdiscs.find((x) => x.dev === dev && x.root && x.handle === SHAPER_HANDLE && x.kind === "tbf");
  return q?.options?.rate !== undefined ? q.options.rate * 8 : null;
}

/** TAP's limits from all QDISCS and the FILTERS of its ingress (`tc -j filter show dev TAP ingress`). */
export function tapShape(tap: string, qdiscs: TcObject[], filters: TcObject[]): TapShape {
  const bits = shaperBits(tap, qdiscs);
  const fq = qdiscs.some((x) => x.dev === tap && x.parent === `${SHAPER_HANDLE}1` && x.kind === "fq_codel");
  const ours = filters.filter((f) => f.pref === REDIRECT_PREF);
  const to = ours.flatMap((f) => f.options?.actions ?? []).find((a) => a.kind === "mirred")?.to_dev;
  return {
    down: bits === null ? null : { bits, fqCodel: fq },
    redirect: to ?? (ours.length ? "" : null),
  };
}
