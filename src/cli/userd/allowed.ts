// Who may put a VM on which network (pure): root always; anyone else only where the network's allow_users or
// allow_groups names them (by name or numeric id). The refusal says who may allow it, and how.
import type { Config, Network } from "../../config/types.js";
import { globMatch } from "../../select.js";
import type { Who } from "./who.js";

/** True when WHO may attach taps to NET. */
export function mayUse(net: Network, who: Who): boolean {
  if (who.uid === 0) return true;
  const a = net.allow;
  if (!a) return false;
  if (a.users.includes(who.user) || a.users.includes(String(who.uid))) return true;
  return who.groups.some((g) => a.groups.includes(g.name) || a.groups.includes(String(g.gid)));
}

/** The networks of CONFIG that WHO may use. */
export function usable(config: Config, who: Who): Network[] {
  return config.networks.filter((n) => mayUse(n, who));
}

/** Why WHO may not use NET: what to ask of whom. */
export function notAllowed(config: Config, net: Network, who: Who): string {
  const others = usable(config, who).map((n) => n.name);
  return (
    `user ${who.user} (uid ${who.uid}) may not use network ${net.name}: root allows it with ` +
    `allow_users = ${who.user} (or allow_groups = GROUP, one of theirs) in [${net.name}] of ${config.file}` +
    (others.length ? `; networks ${who.user} may use: ${others.join(", ")}` : "")
  );
}

/** The network WHO asked for (NAME), or the only one they may use when they named none; or what is wrong. */
export function pickNetwork(config: Config, who: Who, name: string | undefined): Network | { error: string } {
  if (name !== undefined) {
    const net = config.networks.find((n) => n.name === name);
    // Another user's request learns no more than a list of what they may use: no network names beyond.
    if (!net) {
      const mine = usable(config, who).map((n) => n.name);
      return { error: `no network ${name}${mine.length ? ` (networks you may use: ${mine.join(", ")})` : ""}` };
    }
    return mayUse(net, who) ? net : { error: notAllowed(config, net, who) };
  }
  const mine = usable(config, who);
  if (mine.length === 1) return mine[0]!;
  if (mine.length === 0)
    return {
      error: `user ${who.user} (uid ${who.uid}) may use no network of ${config.file}: root allows a network with allow_users = ${who.user} or allow_groups = GROUP in its section`,
    };
  return { error: `name the network: you may use ${mine.map((n) => n.name).join(", ")}` };
}

/** Why an ordinary user may not name a tap TAP for network NET, or null: CONFIG names TAP in a `tap.TAP.*` key
 *  (its own rate or port isolation, maybe looser than the network's: such a name is the admin's, for a VM root
 *  runs), or another network's `taps` glob matches it (that network's hooks would pick it, and its bridge, made
 *  again, would take it back as one of its running VMs' taps). */
export function configNamesTap(config: Config, tap: string, net: Network): string | null {
  for (const n of config.networks) {
    if (!n.policy?.taps[tap]) continue;
    const key = Object.keys(n.lines).find((k) => k.startsWith(`tap.${tap}.`)) ?? `tap.${tap}.*`;
    return (
      `tap ${tap} is named by ${key} in [${n.name}] of ${config.file}${n.lines[key] ? ` (line ${n.lines[key]})` : ""}: ` +
      "a user's tap never takes a name the config gives its own policy; leave --tap out, or root renames the key"
    );
  }
  for (const n of config.networks) {
    const glob = n.name !== net.name ? n.taps.find((g) => globMatch(g, tap)) : undefined;
    if (glob === undefined) continue;
    const line = n.lines.taps ? ` (line ${n.lines.taps})` : "";
    return (
      `tap ${tap} matches taps = ${n.taps.join(", ")} of [${n.name}] in ${config.file}${line}, not the network it is for ` +
      `(${net.name}): a user's tap never takes a name another network claims; leave --tap out, or choose another`
    );
  }
  return null;
}
