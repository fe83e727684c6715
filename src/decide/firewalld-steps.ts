// Putting a network's bridge in kvmnet's firewalld zone. Without it, firewalld's default zone (public) rejects
// the guests' DHCP and DNS to the host and their forwarded traffic, and an accept in kvmnet's own table cannot
// cancel that. The binding is permanent and lives in kvmnet's own zone file (an <interface> line of
// /etc/firewalld/zones/kvmnet*.xml): firewalld restores it itself on `firewall-cmd --reload`, a restart or a
// boot, with no kvmnet process (a runtime binding alone is forgotten on reload). It is made at runtime too, so
// no reload is needed, except when kvmnet's zone files are missing or outdated: then they are written (keeping
// the interfaces they bind) and firewalld reloaded once, the only way it learns a new zone. Pure.
import type { Network } from "../config/types.js";
import type { FirewalldState } from "../observe/firewalld-state.js";
import {
  FIREWALLD_ETC,
  KVMNET_ZONES,
  renderPolicies,
  renderZone,
  zoneDefinition,
  zoneInterfaces,
  zoneOf,
  zonePath,
} from "../render/firewalld-zones.js";
import type { Step } from "../core/steps.js";

/** Steps that put NET's bridge in its kvmnet zone, permanently and at runtime (and out of kvmnet's other zones);
 *  [] when firewalld does not run, when it already is so, or when an admin's zone binds the bridge. */
export function firewalldUpSteps(net: Network, fw: FirewalldState | null, etc = FIREWALLD_ETC): Step[] {
  const zone = zoneOf(net);
  if (!fw || !zone || fw.foreign) return [];
  const br = net.bridge;
  const files = kvmnetFiles(fw, br, zone, etc);
  const stale = files.filter((f) => fw.files[f.path] === null || def(fw.files[f.path]!) !== def(f.content));
  // firewalld does not know the zone yet (files written, reload cut off) or the definitions changed: write all
  // that differ, with the bridge bound, and reload. Then bind it through firewalld anyway (a no-op unless another
  // network installing the files at the same moment wrote them from what it read before this run's write).
  if (stale.length || fw.runtime === null) {
    const writes = files.filter((f) => fw.files[f.path] !== f.content);
    return [
      ...writes.map((f): Step => ({ kind: "write", path: f.path, content: f.content })),
      { kind: "firewall-cmd", args: ["--reload"] },
      { kind: "firewall-cmd", args: ["--permanent", `--zone=${zone}`, `--add-interface=${br}`] },
      { kind: "firewall-cmd", args: [`--zone=${zone}`, `--change-interface=${br}`] },
    ];
  }
  const steps: Step[] = [];
  for (const other of KVMNET_ZONES.filter((z) => z !== zone && bound(fw, zonePath(z, etc), br)))
    steps.push({ kind: "firewall-cmd", args: ["--permanent", `--zone=${other}`, `--remove-interface=${br}`] });
  if (!bound(fw, zonePath(zone, etc), br))
    steps.push({ kind: "firewall-cmd", args: ["--permanent", `--zone=${zone}`, `--add-interface=${br}`] });
  if (!fw.runtime.includes(br))
    steps.push({ kind: "firewall-cmd", args: [`--zone=${zone}`, `--change-interface=${br}`] });
  return steps;
}

/** Steps that take NET's bridge out of kvmnet's zones, permanently and at runtime; [] when it is in none. The
 *  zone and policy files stay: they are the same for every network, bind nothing once the last bridge is out,
 *  and removing them would take a reload (which forgets other software's runtime bindings) and race with a
 *  network coming up. */
export function firewalldDownSteps(net: Network, fw: FirewalldState | null, etc = FIREWALLD_ETC): Step[] {
  const zone = zoneOf(net);
  if (!fw || !zone) return [];
  const br = net.bridge;
  const steps: Step[] = KVMNET_ZONES.filter((z) => bound(fw, zonePath(z, etc), br)).map((z) => ({
    kind: "firewall-cmd",
    args: ["--permanent", `--zone=${z}`, `--remove-interface=${br}`],
  }));
  if (fw.runtime?.includes(br))
    steps.push({ kind: "firewall-cmd", args: [`--zone=${zone}`, `--remove-interface=${br}`] });
  return steps;
}

// Every kvmnet zone and policy file as wanted: each zone keeps the interfaces it binds, with BR moved to ZONE.
function kvmnetFiles(fw: FirewalldState, br: string, zone: string, etc: string): { path: string; content: string }[] {
  const zones = KVMNET_ZONES.map((z) => {
    const path = zonePath(z, etc);
    const have = zoneInterfaces(fw.files[path] ?? "").filter((i) => i !== br);
    return { path, content: renderZone(z, z === zone ? [...have, br] : have) };
  });
  return [...zones, ...renderPolicies(etc)];
}

function bound(fw: FirewalldState, path: string, br: string): boolean {
  return zoneInterfaces(fw.files[path] ?? "").includes(br);
}

const def = zoneDefinition;
