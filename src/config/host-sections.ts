// The per-host override sections `[NET@HOSTNAME]` that let the same kvmnet.conf serve every host: which one applies
// here, and that no two could apply on one host. Each is validated on every host (validate.ts).
import { hostname as osHostname } from "node:os";
import type { ConfigProblem } from "../errors.js";
import { show } from "./value.js";

/** Keys a `[NET@HOSTNAME]` section may set for NET on that host. */
export const HOST_OVERRIDE_KEYS = ["role", "vxlan_dev", "vxlan_local"] as const;

/** True when SECTION is a per-host override `[NET@HOSTNAME]` rather than a network. */
export function isHostSection(section: string): boolean {
  return section.includes("@");
}

/** What an override section adds to its network on a host. */
export interface HostOverride {
  values: Record<string, string>;
  lines: Record<string, number>;
}

/** Check every `[NET@HOSTNAME]` section among SECTIONS (NET must be a network section, only the keys of
 *  HOST_OVERRIDE_KEYS, no two that could apply on one host) and return, by network, the override for this host
 *  (HOSTNAME, or its first label, in any case). ELSEWHERE receives the others, by section, to be validated too. */
export function hostOverrides(
  file: string,
  sections: Map<string, number>,
  valuesOf: (section: string) => Record<string, string>,
  linesOf: (section: string) => Record<string, number>,
  problems: ConfigProblem[],
  hostname: string = osHostname(),
  elsewhere: Map<string, HostOverride & { net: string }> = new Map(),
): Map<string, HostOverride> {
  const out = new Map<string, HostOverride>();
  const me = [hostname.toLowerCase(), hostname.toLowerCase().split(".")[0]];
  // By network: the host names of its sections seen so far, with their lines.
  const seen = new Map<string, { host: string; section: string; line: number }[]>();
  for (const [section, line] of sections) {
    if (!isHostSection(section)) continue;
    const at = section.lastIndexOf("@");
    const [net, host] = [section.slice(0, at), section.slice(at + 1)];
    const values = valuesOf(section);
    const lines = linesOf(section);
    const push = (key: string, message: string) => problems.push({ file, line: lines[key] ?? line, key, message });
    const why = badHeader(sections, net, host);
    if (why) {
      push(`[${section}]`, why);
      continue;
    }
    for (const key of Object.keys(values).filter((k) => !(HOST_OVERRIDE_KEYS as readonly string[]).includes(k)))
      push(key, `not a per-host key (a [NET@HOSTNAME] section may set ${HOST_OVERRIDE_KEYS.join(", ")})`);
    const [h, before] = [host.toLowerCase(), seen.get(net) ?? []];
    const twin = twinOf(before, h, net);
    if (twin) {
      push(`[${section}]`, twin);
      continue;
    }
    seen.set(net, [...before, { host: h, section, line }]);
    if (me.includes(h)) out.set(net, { values, lines });
    else elsewhere.set(section, { net, values, lines });
  }
  return out;
}

// Why `[NET@HOST]` overrides nothing (no such network, or not a host name), or null.
function badHeader(sections: Map<string, number>, net: string, host: string): string | null {
  if (!sections.has(net) || net === "global" || isHostSection(net))
    return `overrides for network ${show(net)} on host ${show(host)}, but there is no section [${net}]`;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return `${show(host)} is not a host name`;
  return null;
}

// Host names match in any case, a section for a short name also on HOST.DOMAIN: two such sections would both
// apply on one host, and which one wins must not depend on their order in the file. The clash of host H (lower
// case) with a section of BEFORE for network NET, or null.
function twinOf(before: { host: string; section: string; line: number }[], h: string, net: string): string | null {
  const twin = before.find((o) => o.host === h || o.host === h.split(".")[0] || h === o.host.split(".")[0]);
  if (!twin) return null;
  const on = twin.host.length > h.length ? twin.host : h;
  return `[${twin.section}] (line ${twin.line}) applies on host ${on} too: one [${net}@HOSTNAME] section per host`;
}
