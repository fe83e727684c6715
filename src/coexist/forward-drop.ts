// A forward chain whose policy is DROP (Docker sets one): traffic kvmnet allows in its own table is still
// dropped there, because an accept in one table does not cancel a drop in another. Only reads rulesets.
import type { Config, Network } from "../config/types.js";
import { traits } from "../modes.js";
import { forwardPolicy } from "../render/policy.js";
import { ownDockerUserRules } from "../firewall/docker-user.js";
import {
  brNfFix,
  fromRulesets,
  insertCommands,
  kvmnetJumpsFrom,
  passBridge,
  readRulesets,
  type Seen,
} from "./rulesets.js";
import { parseIptablesDrop, parseNftDrops } from "./rulesets.js";
import { bridgeNfCallsIptables, type DoctorContext, type Finding } from "./finding.js";
import { firewallBackend } from "../firewall/choose-backend.js";

/** A base chain on the forward hook with policy drop, and the interfaces its table accepts traffic of. */
export interface DropChain extends Partial<Seen> {
  family: string;
  table: string;
  chain: string;
  /** "in:NAME" / "out:NAME" for every accept rule matching only an input or output interface, in any chain
   *  of the table (the rules an admin adds to FORWARD or DOCKER-USER to let a bridge through); "cross:NAME" for
   *  one from a bridge to itself (bridged frames, with br_netfilter); "br:NAME" for a bridge table's whole
   *  bridge. kvmnet's own jumps to KVMNET-FORWARD in DOCKER-USER count as accepts: its chain decides. */
  accepts: string[];
}

/** The forward-hook chains with policy drop in `nft list ruleset` output (kvmnet's own tables excluded). */
export function parseNftForwardDrops(text: string): DropChain[] {
  return parseNftDrops(text, "forward", (line) => {
    const a = /^\s+(?:meta )?(iif|oif|ibr|obr)name "?([^"\s]+)"?(?: counter packets \d+ bytes \d+)? accept$/.exec(line);
    // In a bridge table, ibrname/obrname name the bridge (iifname there is the port): all of it passes.
    return a ? `${{ iif: "in", oif: "out", ibr: "br", obr: "br" }[a[1]!]}:${a[2]}` : null;
  });
}

/** The FORWARD chain of iptables-save output when its policy is DROP. */
export function parseIptablesForwardDrop(text: string): DropChain[] {
  return parseIptablesDrop(text, "FORWARD", (line) => {
    const a = /^-A \S+ -([io]) (\S+)(?: -o (\S+))? -j (?:ACCEPT|KVMNET-FORWARD)$/.exec(line);
    if (a?.[3]) return a[1] === "i" && a[2] === a[3] ? `cross:${a[2]}` : null;
    return a ? `${a[1] === "i" ? "in" : "out"}:${a[2]}` : null;
  });
}

/** The configured networks whose traffic DROP would drop. BRNF: bridged frames pass the ip forward hook. */
export function affectedBy(drop: DropChain, config: Config, brNf: boolean): Network[] {
  if (drop.family !== "ip" && drop.family !== "inet" && drop.family !== "bridge") return [];
  return config.networks.filter((n) => {
    if (drop.accepts.includes(`in:${n.bridge}`) && drop.accepts.includes(`out:${n.bridge}`)) return false;
    if (drop.accepts.includes(`br:${n.bridge}`)) return false;
    if (!traits(n).forwarding && drop.accepts.includes(`cross:${n.bridge}`)) return false;
    if (drop.family === "bridge") return true;
    // A backend whose chain is jumped from the top of this very chain (iptables) accepts first.
    const first = firewallBackend(config.firewall).caps.firstInBuiltins;
    if (first && kvmnetJumpsFrom(drop, "FORWARD") && forwardPolicy(n)) return false;
    if (traits(n).forwarding) return true;
    return brNf;
  });
}

/** Every forward chain with policy drop, from nft and iptables-save, and which networks it breaks. */
export function checkForwardDrop(ctx: DoctorContext): Finding[] {
  const drops = fromRulesets(ctx, { nft: parseNftForwardDrops, iptables: parseIptablesForwardDrop });
  if (!drops)
    return [
      {
        id: "forward-drop",
        level: "skip",
        message: "could not read the ruleset (neither nft list ruleset nor iptables-save ran)",
      },
    ];
  const unique = drops;
  if (!unique.length) return [{ id: "forward-drop", level: "ok", message: "no forward chain has policy drop" }];
  const brNf = bridgeNfCallsIptables(ctx);
  return unique.map((d) => {
    const hit = ctx.config ? affectedBy(d, ctx.config, brNf) : [];
    const where = `${d.family} ${d.table} chain ${d.chain}`;
    const du = dockerUser(ctx, d);
    const handled = du.handled.filter((n) => !hit.some((h) => h.name === n));
    if (!hit.length)
      return {
        id: "forward-drop",
        level: "ok",
        message: handled.length
          ? `${where} has policy drop (Docker sets it); kvmnet's own rules in DOCKER-USER let ${handled.join(", ")} through`
          : `${where} has policy drop; no kvmnet network's traffic is dropped there`,
      };
    const brs = hit.map((n) => n.bridge);
    const docker = d.family === "ip" && d.table === "filter" && d.chain === "FORWARD";
    const rules = insertCommands(
      d,
      brs.flatMap((b) => passBridge(d, b)),
    );
    return {
      id: "forward-drop",
      level: "fail",
      networks: hit.map((n) => n.name),
      message: `${where} has policy drop${docker ? " (Docker sets it)" : ""}: forwarded traffic of ${hit.map((n) => n.name).join(", ")} is dropped there, whatever kvmnet's own rules allow`,
      fix:
        `let the bridge${brs.length > 1 ? "s" : ""} through in that chain: ${rules.join("; ")}` +
        (du.present
          ? `; Docker's DOCKER-USER is there: kvmnet up ${hit.map((n) => n.name).join(" ")} puts kvmnet's own rules in it (kvmnet looks at it when it writes its rules, for kvmnet up, and when kvmnet watch sees Docker change its rules)`
          : "") +
        (docker && !du.present
          ? `; with Docker, put them where Docker keeps them: ${brs.map((b) => `iptables -I DOCKER-USER -i ${b} -j ACCEPT; iptables -I DOCKER-USER -o ${b} -j ACCEPT`).join("; ")}` +
            (!(ctx.config && firewallBackend(ctx.config.firewall).caps.firstInBuiltins)
              ? "; or set firewall = iptables in [global], whose chain is jumped from the top of FORWARD"
              : "")
          : "") +
        brNfFix(d, hit),
    };
  });
}

// Docker's DOCKER-USER in the iptables ruleset D was read from: whether it exists, and the configured networks
// kvmnet's own rules there (tagged "kvmnet NET") let through.
function dockerUser(ctx: DoctorContext, d: DropChain): { present: boolean; handled: string[] } {
  const r = readRulesets(ctx);
  const text = d.source === "iptables-legacy" ? r.legacy : d.source === "iptables-nft" ? r.iptables : null;
  if (!text || d.table !== "filter" || !/^:DOCKER-USER /m.test(text)) return { present: false, handled: [] };
  const lines = text.split("\n").filter((l) => l.startsWith("-A DOCKER-USER "));
  const nets = ctx.config?.networks ?? [];
  return { present: true, handled: nets.filter((n) => ownDockerUserRules(n, lines).length).map((n) => n.name) };
}
