// firewalld, as far as one network's bridge is concerned. Whether it runs is read from /proc (a process named
// firewalld in this network namespace; Debian's unit runs it with --nopid, so there is no pid file to trust), at
// no process cost; only then, and only when kvmnet's firewall is being (re)made or for `kvmnet up`/`down`, kvmnet
// reads its zone files and asks firewalld (one `firewall-cmd`) which interfaces its zone holds now.
import { readdirSync, readFileSync } from "node:fs";
import { daemonRunning } from "./daemon.js";
import type { Exec } from "../host/exec.js";
import type { Network } from "../config/types.js";
import { CommandError } from "../errors.js";
import { bringsUp, detachTearsDown, type Intent } from "../intent.js";
import {
  FIREWALLD_ETC,
  KVMNET_ZONES,
  renderPolicies,
  zoneInterfaces,
  zoneOf,
  zonePath,
  type KvmnetZone,
} from "../render/firewalld-zones.js";
import type { Link } from "./links.js";

/** What kvmnet looks at of a running firewalld for one network. */
export interface FirewalldState {
  /** kvmnet's zone and policy files as found (path → content; null: missing). */
  files: Record<string, string | null>;
  /** A zone of the admin's (not kvmnet's) whose file binds the bridge: the admin chose; kvmnet leaves it so. */
  foreign: string | null;
  /** The interfaces the network's zone holds at runtime; null when firewalld does not know the zone (yet). */
  runtime: string[] | null;
}

// firewall-cmd's exit codes for an unknown zone (INVALID_ZONE) and for a daemon not (yet) on the bus.
const INVALID_ZONE = 112;
const NOT_RUNNING = 252;

/** True when a firewalld daemon runs in this network namespace (read from /proc only). */
export function firewalldRunning(): boolean {
  return daemonRunning("firewalld");
}

/** Whether converging NET towards INTENT looks at firewalld: NET has a zone, and kvmnet up/down, a bridge being
 *  made, the firewall being (re)made (REMAKING), or the down hook tearing the network down (last port leaving). */
export function firewalldLookWanted(net: Network, intent: Intent, bridge: Link | null, remaking: boolean): boolean {
  if (!zoneOf(net)) return false;
  if (intent.action === "up" || intent.action === "down") return true;
  if (bringsUp(intent)) return !bridge || remaking;
  return detachTearsDown(net, bridge?.ports ?? [], intent.tap);
}

/** Look at firewalld for NET: null when it does not run (then kvmnet changes nothing of it). */
export function observeFirewalld(exec: Exec, net: Network, etc = FIREWALLD_ETC): FirewalldState | null {
  const zone = zoneOf(net);
  if (!zone || !firewalldRunning()) return null;
  const runtime = runtimeInterfaces(exec, zone);
  if (runtime === "not running") return null;
  const files: Record<string, string | null> = {};
  for (const z of KVMNET_ZONES) files[zonePath(z, etc)] = readText(zonePath(z, etc));
  for (const p of renderPolicies(etc)) files[p.path] = readText(p.path);
  return { files, foreign: foreignZone(net.bridge, etc), runtime };
}

// The interfaces ZONE holds now; null: firewalld does not know the zone. "not running": the process is there but
// not on the bus (starting or stopping), or firewall-cmd is missing: then as if firewalld did not run (the reapply
// unit, started after firewalld, binds the bridge then).
function runtimeInterfaces(exec: Exec, zone: KvmnetZone): string[] | null | "not running" {
  const args = [`--zone=${zone}`, "--list-interfaces"];
  const r = exec.tryRun("firewall-cmd", args);
  if (r.ok) return r.stdout.split(/\s+/).filter(Boolean);
  if (r.code === INVALID_ZONE) return null;
  if (r.code === NOT_RUNNING || r.code === null) return "not running";
  throw new CommandError(`firewall-cmd ${args.join(" ")}`, r.code, r.stderr);
}

// The admin's zone (in /etc/firewalld/zones, not one of kvmnet's) whose file binds BRIDGE, if any.
function foreignZone(bridge: string, etc: string): string | null {
  let names: string[];
  try {
    names = readdirSync(`${etc}/zones`);
  } catch {
    return null;
  }
  for (const f of names) {
    const zone = f.replace(/\.xml$/, "");
    if (f === zone || (KVMNET_ZONES as readonly string[]).includes(zone)) continue;
    const text = readText(`${etc}/zones/${f}`);
    if (text && zoneInterfaces(text).includes(bridge)) return zone;
  }
  return null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
