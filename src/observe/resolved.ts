// systemd-resolved, as far as one network's bridge is concerned. Whether it runs is read from /proc (a process
// named systemd-resolved in this network namespace: a daemon of another namespace serves other links), at no
// process cost; only then kvmnet asks it, with one `busctl` (its D-Bus API, typed, where `resolvectl status` is
// text for people), which DNS servers and domains the bridge's link has now. Never with auto-start: kvmnet must not
// start a resolver the admin left stopped.
import { existsSync, readFileSync } from "node:fs";
import type { Exec } from "../host/exec.js";
import type { Config, Network } from "../config/types.js";
import { bringsUp, type Intent } from "../intent.js";
import type { ResolvedLink } from "../render/resolved.js";
import { resolvedLinkFor } from "../render/resolved.js";
import { renderDnsmasq } from "../render/dnsmasq.js";
import type { Link } from "./links.js";
import { daemonRunning } from "./daemon.js";

/** What kvmnet looks at of a running systemd-resolved for one network. */
export interface ResolvedState {
  /** The bridge's link as resolved has it (DEFAULTROUTE null: not set); null when the bridge does not exist yet. */
  link: (ResolvedLink & { defaultRoute: boolean | null }) | null;
}

// comm is cut to 15 characters: "systemd-resolved" reads "systemd-resolve".
const COMM = "systemd-resolve";

// Where resolved keeps its runtime files: absent, it has not run since boot, and /proc need not be scanned (a scan
// costs milliseconds per hundred processes).
const RUNTIME = "/run/systemd/resolve";

/** True when systemd-resolved runs in this network namespace (read from /run and /proc only). */
export function resolvedRunning(): boolean {
  return existsSync(RUNTIME) && daemonRunning(COMM);
}

/** Whether converging NET towards INTENT looks at systemd-resolved: a network with a domain on kvmnet up, down,
 *  reapply and watch, and a hook making the bridge (resolved forgot the link with the old one); a network without
 *  one only on up and down (settings kvmnet left when its domain was dropped go). */
export function resolvedLookWanted(config: Config, net: Network, intent: Intent, bridge: Link | null): boolean {
  if (intent.action === "up" || intent.action === "down") return renderDnsmasq(config, net) !== null;
  return bringsUp(intent) && !bridge && resolvedLinkFor(config, net) !== null;
}

/** Look at systemd-resolved for NET: null when it does not run (then kvmnet changes nothing of it). */
export function observeResolved(exec: Exec, net: Network, bridge: Link | null): ResolvedState | null {
  if (!resolvedRunning()) return null;
  if (!bridge) return { link: null };
  let ifindex: number;
  try {
    ifindex = Number(readFileSync(`/sys/class/net/${net.bridge}/ifindex`, "utf8"));
  } catch {
    return { link: null };
  }
  const args = [
    "--json=short",
    "--auto-start=no",
    "get-property",
    "org.freedesktop.resolve1",
    linkPath(ifindex),
    "org.freedesktop.resolve1.Link",
    "DNS",
    "Domains",
    "DefaultRoute",
  ];
  const r = exec.tryRun("busctl", args);
  // Not on the bus (starting or stopping), or busctl missing: as if it did not run; the next kvmnet up, reapply
  // or watch pass sets the link. A link resolved does not know yet: nothing set on it.
  if (!r.ok)
    return /not known|unknown object/i.test(r.stderr) ? { link: { dns: [], domains: [], defaultRoute: null } } : null;
  return { link: parseLinkProperties(r.stdout) };
}

/** resolved's D-Bus object of link IFINDEX: the number escaped as a bus label (a leading digit as _3X). */
export function linkPath(ifindex: number): string {
  const s = String(ifindex);
  return `/org/freedesktop/resolve1/link/_3${s}`;
}

/** The DNS, Domains and DefaultRoute properties as `busctl --json=short get-property` prints them, a line each. */
export function parseLinkProperties(text: string): ResolvedLink & { defaultRoute: boolean | null } {
  const [dns, domains, route] = text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { data: unknown }).data);
  return {
    dns: ((dns ?? []) as [number, number[]][]).map(([family, bytes]) => addressText(family, bytes)),
    domains: ((domains ?? []) as [string, boolean][]).map(([name, routeOnly]) => (routeOnly ? `~${name}` : name)),
    defaultRoute: typeof route === "boolean" ? route : null,
  };
}

// An address as D-Bus gives it (family, bytes): dotted IPv4, or IPv6 in groups (compared only with IPv4 here).
function addressText(family: number, bytes: number[]): string {
  if (family === 2) return bytes.join(".");
  const groups = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}
